import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import { getDb, getSql } from './client';
import {
  assistantKeys,
  assistantKeyUses,
  type AssistantKey,
  type AssistantKeyOutcome,
  type AssistantKeyScope,
} from './schema';

// Assistant keys and their use log (see assistantKeys in schema.ts). The policy — token format,
// lifetimes, scopes, the daily cap — lives in lib/assistant-keys/.

export async function insertAssistantKey(values: {
  userAddress: string;
  name: string;
  tokenHash: string;
  tokenPrefix: string;
  scopes: AssistantKeyScope[];
  dailyCapUsdc: string;
  expiresAt: Date;
}): Promise<AssistantKey> {
  const [row] = await getDb()
    .insert(assistantKeys)
    .values({ ...values, userAddress: values.userAddress.toLowerCase() })
    .returning();
  return row!;
}

export async function getAssistantKeyByTokenHash({ tokenHash }: { tokenHash: string }) {
  const [row] = await getDb().select().from(assistantKeys).where(eq(assistantKeys.tokenHash, tokenHash)).limit(1);
  return row;
}

export async function getAssistantKeyById({ id }: { id: string }) {
  const [row] = await getDb().select().from(assistantKeys).where(eq(assistantKeys.id, id)).limit(1);
  return row;
}

export async function listAssistantKeysByUser({ userAddress, limit }: { userAddress: string; limit: number }) {
  return getDb()
    .select()
    .from(assistantKeys)
    .where(eq(assistantKeys.userAddress, userAddress.toLowerCase()))
    .orderBy(desc(assistantKeys.createdAt))
    .limit(limit);
}

/** Keys of the user neither revoked nor expired at `now`. */
export async function countLiveAssistantKeysByUser({ userAddress, now }: { userAddress: string; now: Date }) {
  const [row] = await getDb()
    .select({ n: sql<number>`count(*)::int` })
    .from(assistantKeys)
    .where(
      and(
        eq(assistantKeys.userAddress, userAddress.toLowerCase()),
        isNull(assistantKeys.revokedAt),
        gt(assistantKeys.expiresAt, now),
      ),
    );
  return row?.n ?? 0;
}

/** Revokes the user's key (once: a revoked key keeps its first revocation time). */
export async function revokeAssistantKey({ id, userAddress, now }: { id: string; userAddress: string; now: Date }) {
  await getDb()
    .update(assistantKeys)
    .set({ revokedAt: now })
    .where(
      and(
        eq(assistantKeys.id, id),
        eq(assistantKeys.userAddress, userAddress.toLowerCase()),
        isNull(assistantKeys.revokedAt),
      ),
    );
  const [row] = await getDb()
    .select()
    .from(assistantKeys)
    .where(and(eq(assistantKeys.id, id), eq(assistantKeys.userAddress, userAddress.toLowerCase())))
    .limit(1);
  return row;
}

/** Logs one use of a key and moves its `last_used_at`, in one statement (database clock). */
export async function recordAssistantKeyUse(use: {
  keyId: string;
  action: string;
  outcome: AssistantKeyOutcome;
  taskId?: string;
  errorCode?: string;
}) {
  await getSql()`
    with used as (update assistant_keys set last_used_at = now() where id = ${use.keyId})
    insert into assistant_key_uses (key_id, action, outcome, task_id, error_code)
    values (${use.keyId}, ${use.action}, ${use.outcome}, ${use.taskId ?? null}, ${use.errorCode?.slice(0, 64) ?? null})`;
}

/**
 * Logs a dead (revoked or expired) key's attempt to authenticate, unless one was logged in the
 * last `everySeconds`: an assistant retrying in a loop adds a row a minute, not one a try.
 */
export async function recordRefusedAssistantKeyAttempt({
  keyId,
  errorCode,
  everySeconds,
}: {
  keyId: string;
  errorCode: string;
  everySeconds: number;
}) {
  await getSql()`
    with used as (update assistant_keys set last_used_at = now() where id = ${keyId})
    insert into assistant_key_uses (key_id, action, outcome, error_code)
    select ${keyId}, 'authenticate', 'refused', ${errorCode}
    where not exists (
      select 1 from assistant_key_uses
      where key_id = ${keyId} and action = 'authenticate' and created_at > now() - make_interval(secs => ${everySeconds})
    )`;
}

/** Deletes up to `limit` uses older than `before`; returns how many. */
export async function deleteAssistantKeyUsesBefore({ before, limit = 5000 }: { before: Date; limit?: number }) {
  const rows = await getSql()`
    delete from assistant_key_uses where id in (
      select id from assistant_key_uses where created_at < ${before.toISOString()}::timestamptz order by id limit ${limit}
    ) returning 1`;
  return rows.length;
}

/** The newest uses of any of these keys. */
export async function listAssistantKeyUsesByKeys({ keyIds, limit }: { keyIds: string[]; limit: number }) {
  if (keyIds.length === 0) return [];
  return getDb()
    .select()
    .from(assistantKeyUses)
    .where(inArray(assistantKeyUses.keyId, keyIds))
    .orderBy(desc(assistantKeyUses.createdAt), desc(assistantKeyUses.id))
    .limit(limit);
}

// Spend that counts against a key's daily cap: every reservation of the window, except one whose
// task was cancelled before any money moved (never funded, no authorization submitted).
const COUNTED = `not coalesce(t.status = 'cancelled' and t.funded_at is null and t.funding_submitted_at is null, false)`;
const ASSISTANT_SPEND_LOCK_SPACE = 0x61736b; // 'ask': one advisory lock space for key spend

export type SpendReservation = { ok: true; id: string } | { ok: false; spent: bigint };

/**
 * Reserves `amount` of the key's cap for a task about to be created, under a per-key lock so
 * two creations at once cannot both fit under the cap. The row is the use's log line too; it is
 * tied to its task by attachAssistantKeySpend, or deleted by releaseAssistantKeySpend when the
 * task is not created. A reservation left behind by a crash keeps counting: it errs towards less.
 */
export async function reserveAssistantKeySpend({
  keyId,
  action,
  amount,
  cap,
}: {
  keyId: string;
  action: string;
  amount: bigint;
  cap: bigint;
}): Promise<SpendReservation> {
  return getSql().begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ASSISTANT_SPEND_LOCK_SPACE}, hashtext(${keyId}))`;
    const [row] = await tx<{ spent: string }[]>`
      select coalesce(sum(u.spend_usdc), 0)::text as spent
      from assistant_key_uses u left join ai_agent_tasks t on t.id = u.task_id
      where u.key_id = ${keyId} and u.spend_usdc is not null and u.created_at > now() - interval '1 day' and ${tx.unsafe(COUNTED)}`;
    const spent = BigInt(row!.spent);
    if (spent + amount > cap) return { ok: false, spent } as const;
    const [use] = await tx<{ id: string }[]>`
      with used as (update assistant_keys set last_used_at = now() where id = ${keyId})
      insert into assistant_key_uses (key_id, action, outcome, spend_usdc)
      values (${keyId}, ${action}, 'ok', ${amount.toString()}::numeric) returning id::text`;
    return { ok: true, id: use!.id } as const;
  });
}

export async function attachAssistantKeySpend({ id, taskId }: { id: string; taskId: string }) {
  await getSql()`update assistant_key_uses set task_id = ${taskId} where id = ${id}`;
}

export async function releaseAssistantKeySpend({ id }: { id: string }) {
  await getSql()`delete from assistant_key_uses where id = ${id}`;
}

/** Each key's counted spend in the last 24 hours, for the keys page. */
export async function sumAssistantKeySpendByKeys({ keyIds }: { keyIds: string[] }) {
  if (keyIds.length === 0) return new Map<string, bigint>();
  const sqlc = getSql();
  const rows = await sqlc<{ key_id: string; spent: string }[]>`
    select u.key_id, coalesce(sum(u.spend_usdc), 0)::text as spent
    from assistant_key_uses u
    left join ai_agent_tasks t on t.id = u.task_id
    where u.key_id in ${sqlc(keyIds)} and u.spend_usdc is not null and u.created_at > now() - interval '1 day'
      and ${sqlc.unsafe(COUNTED)}
    group by u.key_id`;
  return new Map(rows.map((r) => [r.key_id, BigInt(r.spent)]));
}
