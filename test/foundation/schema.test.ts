import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '@/test/support/stack';

let stack: TestStack;
let sql: postgres.Sql;
let walletId: string;

const migrations = path.resolve(import.meta.dirname, '../../db/migrations');
const journal = JSON.parse(readFileSync(path.join(migrations, 'meta/_journal.json'), 'utf8')) as {
  entries: { tag: string }[];
};

/** The Postgres error a statement fails with (code + constraint), or a throw if it succeeds. */
async function pgError(query: Promise<unknown>) {
  try {
    await query;
  } catch (error) {
    const failure = error as { code?: string; constraint_name?: string };
    return { code: failure.code, constraint: failure.constraint_name };
  }
  throw new Error('expected the statement to fail');
}

let seq = 0;
const insertTask = (values: Record<string, unknown> = {}) =>
  sql`insert into ai_agent_tasks ${sql({
    user_address: '0x' + String(++seq).padStart(40, '0'),
    agent_wallet_id: walletId,
    chain_id: 31337,
    token_address: '0x' + 'a'.repeat(40),
    quantity: 3,
    price_per_mint: '100000',
    total_cost: '300000',
    ...values,
  })} returning *`;

beforeAll(async () => {
  stack = await startTestStack({ chain: false });
  sql = postgres(stack.pg.url, { max: 2, onnotice: () => {} });
  const [wallet] = await sql<{ id: string }[]>`
    insert into ai_agent_wallets (user_address, agent_address, encrypted_private_key)
    values (${'0x' + 'b'.repeat(40)}, ${'0x' + 'c'.repeat(40)}, 'v1:envelope') returning id`;
  walletId = wallet!.id;
});
afterAll(async () => {
  await sql?.end();
  await stack?.stop();
});

describe('migrations', () => {
  it('apply every committed migration to a fresh database, once', async () => {
    const applied = await sql`select hash from drizzle.__drizzle_migrations`;
    expect(applied).toHaveLength(journal.entries.length);
    const { migrateDatabase } = await import('@/db/migrate');
    await migrateDatabase(stack.pg.url);
    expect(await sql`select hash from drizzle.__drizzle_migrations`).toHaveLength(journal.entries.length);
    const tables = await sql<
      { tablename: string }[]
    >`select tablename from pg_tables where schemaname = 'public' order by tablename`;
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining(['ai_agent_chats', 'ai_agent_mint_records', 'ai_agent_tasks', 'ai_agent_wallets']),
    );
  });

  it('match db/schema.ts (run `npm run db:generate` after editing the schema)', async () => {
    const { generateDrizzleJson, generateMigration } = await import('drizzle-kit/api');
    const schema = await import('@/db/schema');
    const last = journal.entries.at(-1)!.tag.split('_')[0];
    const snapshot = JSON.parse(readFileSync(path.join(migrations, `meta/${last}_snapshot.json`), 'utf8'));
    const pending = await generateMigration(snapshot, generateDrizzleJson(schema as Record<string, unknown>));
    expect(pending).toEqual([]);
  });
});

describe('constraints', () => {
  it('refuses a second mint record for the same task and sequence number', async () => {
    const [task] = await insertTask();
    const record = (n: number, mintId: string) =>
      sql`insert into ai_agent_mint_records (task_id, sequence_number, mint_id, nonce) values (${task!.id}, ${n}, ${mintId}, ${n})`;
    await record(1, '0x' + '1'.repeat(64));
    await record(2, '0x' + '2'.repeat(64));
    expect(await pgError(record(1, '0x' + '3'.repeat(64)))).toEqual({
      code: '23505',
      constraint: 'ai_agent_mint_records_task_seq_idx',
    });
    expect(await pgError(record(3, '0x' + '1'.repeat(64)))).toEqual({
      code: '23505',
      constraint: 'ai_agent_mint_records_mint_id_unique',
    });
  });

  it('refuses a status outside the lifecycle', async () => {
    expect(await pgError(insertTask({ status: 'done' }))).toEqual({
      code: '23514',
      constraint: 'ai_agent_tasks_status_check',
    });
    const [task] = await insertTask();
    expect(await pgError(sql`update ai_agent_tasks set status = 'paused' where id = ${task!.id}`)).toEqual({
      code: '23514',
      constraint: 'ai_agent_tasks_status_check',
    });
    for (const status of ['pending_payment', 'funded', 'processing', 'completed', 'failed', 'cancelled'])
      await insertTask({ status });
  });

  it('refuses a quantity outside 1–1000 and progress beyond the quantity', async () => {
    expect((await pgError(insertTask({ quantity: -1 }))).code).toBe('23514');
    for (const quantity of [0, 1001]) {
      expect(await pgError(insertTask({ quantity }))).toEqual({
        code: '23514',
        constraint: 'ai_agent_tasks_quantity_check',
      });
    }
    await insertTask({ quantity: 1 });
    await insertTask({ quantity: 1000 });
    expect(await pgError(insertTask({ quantity: 2, mints_completed: 3 }))).toEqual({
      code: '23514',
      constraint: 'ai_agent_tasks_progress_check',
    });
  });

  it('allows many unfunded tasks per user but one use of a funding nonce', async () => {
    const user = '0x' + 'd'.repeat(40);
    await insertTask({ user_address: user });
    await insertTask({ user_address: user });
    const nonce = '0x' + 'e'.repeat(64);
    await insertTask({ user_address: user, funding_nonce: nonce });
    expect(await pgError(insertTask({ user_address: user, funding_nonce: nonce }))).toEqual({
      code: '23505',
      constraint: 'ai_agent_tasks_funding_nonce_idx',
    });
  });
});

describe('amounts', () => {
  it('round-trip numeric(78,0) exactly, far beyond 2^64, through SQL and through Drizzle', async () => {
    const huge = (10n ** 30n).toString();
    const maxUint256 = (2n ** 256n - 1n).toString();
    const [task] = await insertTask({
      price_per_mint: huge,
      total_cost: maxUint256,
      gas_topped_up_wei: '18446744073709551617',
    });
    const [raw] =
      await sql`select price_per_mint::text as p, total_cost::text as t, gas_topped_up_wei::text as g from ai_agent_tasks where id = ${task!.id}`;
    expect(raw).toEqual({ p: huge, t: maxUint256, g: '18446744073709551617' });

    const { getTaskById } = await import('@/db/tasks');
    const row = await getTaskById({ id: task!.id });
    expect(BigInt(row!.pricePerMint)).toBe(10n ** 30n);
    expect(BigInt(row!.totalCost)).toBe(2n ** 256n - 1n);
    expect(BigInt(row!.gasToppedUpWei)).toBe(2n ** 64n + 1n);
  });
});

describe('indexes', () => {
  const indexDef = async (name: string) => {
    const [row] = await sql<{ indexdef: string }[]>`select indexdef from pg_indexes where indexname = ${name}`;
    return row?.indexdef ?? '';
  };

  it('serve the worker claim: funded/processing by priority desc, then age', async () => {
    const def = await indexDef('ai_agent_tasks_claim_idx');
    expect(def).toMatch(/ON public\.ai_agent_tasks USING btree \(priority DESC( NULLS LAST)?, created_at\)/);
    expect(def).toMatch(/WHERE.*status.*'funded'.*'processing'/);
  });

  it("serve a user's task list newest first and the ledger's task/sequence lookups", async () => {
    expect(await indexDef('ai_agent_tasks_user_idx')).toMatch(/\(user_address, created_at DESC( NULLS LAST)?\)/);
    expect(await indexDef('ai_agent_mint_records_task_seq_idx')).toMatch(
      /CREATE UNIQUE INDEX .* \(task_id, sequence_number\)/,
    );
    expect(await indexDef('ai_agent_chats_user_idx')).toMatch(/\(user_address, created_at DESC( NULLS LAST)?\)/);
  });
});
