// A process under a Postgres restart (postgres-restart.test.ts): it keeps using the database the
// ways AgentMint's processes do — pooled queries, transactions (postgres.js and drizzle), an
// advisory-lock transaction as the funding lock takes it, and a LISTEN —
// and prints a JSON line of its counts every 200 ms until stdin closes. Env comes from the test.
// Not a reserved connection (sql.reserve()): AgentMint stopped holding one (7a68810, d4328e7), and
// one here sometimes never settled again after the restarts (1 run in ~8, under load).
import '@/lib/config';
import { sql } from 'drizzle-orm';
import { closeDb, getDb, getSql } from '@/db/client';
import { withUserFundingLock } from '@/db/task-funding';

const counts = { ok: 0, failed: 0, notified: 0, relistened: 0 };
let stopping = false;
process.stdin.on('close', () => (stopping = true));
process.stdin.resume();

await getSql().listen(
  'restart_probe',
  () => counts.notified++,
  () => counts.relistened++,
);

const ways: (() => Promise<unknown>)[] = [
  () => getSql()`select 1`,
  () => getSql().begin(async (tx) => (await tx`select pg_sleep(0.005)`, tx`select 2`)),
  () => getDb().transaction(async (tx) => tx.execute(sql`select 3`)),
  () =>
    withUserFundingLock('0x00000000000000000000000000000000000000aa', (db) => db.execute(sql`select 4`), {
      waitMs: 5_000,
    }),
];

const loops = ways.flatMap((way) =>
  [0, 1].map(async () => {
    while (!stopping) {
      try {
        await way();
        counts.ok++;
      } catch {
        counts.failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }),
);
const report = setInterval(() => console.log(JSON.stringify(counts)), 200);
await Promise.all(loops);
clearInterval(report);
await closeDb();
console.log(JSON.stringify({ ...counts, done: true }));
// Every loop has returned and the pool is closed; exit as worker/index.ts does after closeDb. Left
// to drain, the process sometimes stayed up (1 run in 3): a handle from a reconnect during the
// restarts outlives sql.end().
process.exit(0);
