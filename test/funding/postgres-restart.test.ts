import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTempStack, type TempStack } from '@/scripts/local/temp-stack';

// postgres.js 3.4.9, as installed, threw an uncaught TypeError from a write timer when a
// transaction or reserved connection was written to after Postgres closed it (begin() sends
// ROLLBACK on it): the process died on a database restart, and with the error caught it hung
// instead. And it drops the promise of a new connection's first query (the array types): that
// query failing (a connection reset just after it came up) was an unhandled rejection, which
// ends the process (once in CI, here). scripts/patch-postgres.mjs (postinstall) fixes both; this
// test restarts Postgres under a process using the database every way AgentMint does, and holds
// it to going on afterwards, and makes that first query fail every time.

let stack: TempStack;
let child: ChildProcess | undefined;

beforeAll(async () => {
  stack = await startTempStack({ prefix: 'agentmint-pgrestart-', chain: false });
}, 60_000);
afterAll(async () => {
  child?.kill('SIGKILL');
  await stack?.stop();
}, 30_000);

type Counts = { ok: number; failed: number; notified: number; relistened: number; done?: boolean };

describe('a Postgres restart under a busy process', () => {
  it('crashes nothing: queries fail while it is down, then every way of using the database works again, LISTEN included', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'test/funding/restart-child.ts'], {
      env: { ...process.env, ...stack.env, DB_POOL_MAX: '4' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    let last: Counts = { ok: 0, failed: 0, notified: 0, relistened: 0 };
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('{')) last = JSON.parse(line) as Counts;
    });
    const until = async (what: string, check: () => boolean, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!check()) {
        if (child!.exitCode !== null) throw new Error(`the process exited during "${what}": ${stderr.slice(-2_000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${JSON.stringify(last)})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const notify = async () => {
      const admin = postgres(stack.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
      try {
        await admin`select pg_notify('restart_probe', 'x')`;
      } finally {
        await admin.end();
      }
    };

    await until('the first queries', () => last.ok > 50);
    for (let restart = 1; restart <= 3; restart++) {
      await stack.restartPostgres(500);
      const before = last.ok;
      await until(`queries after restart ${restart}`, () => last.ok > before + 100);
      const heard = last.notified;
      let sentAt = 0;
      await until(`LISTEN after restart ${restart}`, () => {
        if (Date.now() - sentAt > 250) ((sentAt = Date.now()), void notify().catch(() => {}));
        return last.notified > heard;
      });
    }
    expect(last.failed).toBeGreaterThan(0); // it did meet the restarts
    child.stdin!.end();
    const exit = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running after 15 s'), 15_000)),
    ]);
    expect(exit, stderr.slice(-2_000)).toBe(0);
    expect(last.done).toBe(true);
    expect(stderr).not.toMatch(/TypeError|uncaught/i);
  }, 120_000);

  it("survives a new connection's array-types query failing (porsager/postgres#1192)", async () => {
    // A role that may not read pg_type: each of its connections' first query fails, every time.
    const admin = postgres(stack.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe("create role no_types login password 'no_types'");
      await admin.unsafe('revoke select on pg_catalog.pg_type from public');
    } finally {
      await admin.end();
    }
    const url = new URL(stack.env.DATABASE_URL!);
    url.username = 'no_types';
    url.password = 'no_types';
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import postgres from 'postgres';
         const sql = postgres(process.env.NO_TYPES_URL, { max: 1, onnotice() {} });
         let outcome;
         try {
           outcome = (await sql\`select 1 as one\`)[0];
         } catch (error) {
           outcome = { failed: error.code };
         }
         await new Promise((r) => setTimeout(r, 200));
         await sql.end();
         console.log(JSON.stringify(outcome));`,
      ],
      { env: { ...process.env, NO_TYPES_URL: url.toString() }, encoding: 'utf8', timeout: 30_000 },
    );
    // The query waiting for the connection fails with the connection's error, where its caller
    // catches it, as a query does when its connection is reset; the process goes on.
    expect(run.stderr).not.toMatch(/uncaught|unhandled/i);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ failed: '42501' });
  }, 60_000);
});
