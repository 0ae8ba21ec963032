import { beforeAll, describe, expect, it } from 'vitest';
import { desc, eq } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { aiAgentTasks } from '@/db/schema';
import { getTaskById, transitionTask } from '@/db/tasks';
import { GET as taskGET } from '@/app/api/ai-agent/task/[taskId]/route';
import { GET as walletGET } from '@/app/api/ai-agent/wallet/[userAddress]/route';
import { runOps } from '../support/ops';
import { call, cookieFor } from '../support/routes';
import { authorizationFor, postFund, signAuthorization } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

const alice = user(7);
const bob = user(8);

const ops = (...args: string[]) => runOps(stack.env, ...args);

let pending: Awaited<ReturnType<typeof createPendingTask>>;
let failed: Awaited<ReturnType<typeof createPendingTask>>;
let completed: Awaited<ReturnType<typeof createPendingTask>>;

const stack = useTestStack();

beforeAll(async () => {
  const token = stack.deployment.tokens[0]!.address;
  pending = await createPendingTask({ userAddress: alice.address, token, quantity: 3 });
  failed = await createPendingTask({ userAddress: alice.address, token, quantity: 2 });
  completed = await createPendingTask({ userAddress: bob.address, token, quantity: 1 });
  for (const [t, account] of [
    [failed, alice],
    [completed, bob],
  ] as const) {
    const authorization = authorizationFor(t);
    expect(
      (await postFund(t.id, { authorization, signature: await signAuthorization(account, authorization) })).status,
    ).toBe(200);
    await transitionTask({ id: t.id, from: 'funded', to: 'processing', set: { startedAt: new Date() } });
  }
  await transitionTask({
    id: failed.id,
    from: 'processing',
    to: 'failed',
    set: { errorMessage: 'mint reverted: sold out', completedAt: new Date() },
  });
  await transitionTask({
    id: completed.id,
    from: 'processing',
    to: 'completed',
    set: { mintsCompleted: 1, completedAt: new Date() },
  });
});

describe('npm run ops', () => {
  it('tasks --json lists what the database holds, newest first, filtered by status', async () => {
    const all = await ops('tasks', '--json');
    expect(all.code).toBe(0);
    const rows = await getDb().select().from(aiAgentTasks).orderBy(desc(aiAgentTasks.createdAt));
    expect(all.json.map((t: any) => [t.id, t.status, t.mintsCompleted])).toEqual(
      rows.map((r) => [r.id, r.status, r.mintsCompleted]),
    );

    const some = await ops('tasks', '--status', 'failed,completed', '--limit', '1', '--json');
    expect(some.json).toHaveLength(1);
    expect(some.json[0].id).toBe(completed.id);
  });

  it('task <id> --json shows the task exactly as the API does, with its ledger', async () => {
    const out = await ops('task', failed.id, '--json');
    expect(out.code).toBe(0);
    const api = await call(
      taskGET as never,
      `/api/ai-agent/task/${failed.id}`,
      { taskId: failed.id },
      { cookie: cookieFor(alice.address) },
    );
    expect(api.status).toBe(200);
    const { fundingRequest: _f, mints: _m, ...apiTask } = api.body.task;
    expect(out.json.task).toEqual(apiTask);
    expect(out.json.ledger).toEqual([]);
  });

  it('retry and cancel use the lifecycle guards', async () => {
    const retried = await ops('retry', failed.id, '--json');
    expect({ code: retried.code, stderr: retried.stderr }).toEqual({ code: 0, stderr: '' });
    expect(retried.json.status).toBe('funded');
    expect((await getTaskById({ id: failed.id }))!).toMatchObject({ status: 'funded', errorMessage: null, retries: 1 });

    const again = await ops('retry', completed.id, '--json');
    expect(again.code).toBe(1);
    expect(again.json.error.code).toBe('conflict:task');
    expect((await getTaskById({ id: completed.id }))!.status).toBe('completed');

    const cancelled = await ops('cancel', pending.id, '--json');
    expect(cancelled.code).toBe(0);
    const [row] = await getDb().select().from(aiAgentTasks).where(eq(aiAgentTasks.id, pending.id));
    expect(row!.status).toBe('cancelled');
    expect((await ops('cancel', pending.id, '--json')).code).toBe(1);
  });

  it('wallet <user> --json matches the wallet API', async () => {
    const out = await ops('wallet', alice.address, '--json');
    expect(out.code).toBe(0);
    const api = await call(
      walletGET as never,
      `/api/ai-agent/wallet/${alice.address}`,
      { userAddress: alice.address },
      { cookie: cookieFor(alice.address) },
    );
    expect(out.json).toEqual(api.body);
    expect(out.json).toMatchObject({
      usdcBalance: failed.totalCost,
      reservedUsdc: failed.totalCost,
      refundableUsdc: '0',
    });
  });

  it('prints tables when asked and answers usage errors with exit code 2', async () => {
    const table = await ops('tasks', '--table');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^id\s+status\s+done/);
    expect(table.stdout).toContain(completed.id);
    const bad = [
      [],
      ['nope'],
      ['tasks', '--limit', '0'],
      ['tasks', '--status', 'bogus'],
      ['task'],
      ['task', 'not-a-uuid'],
      ['tasks', '--frobnicate'],
    ];
    const outs = await Promise.all(bad.map((args) => ops(...args)));
    for (const [i, out] of outs.entries()) {
      expect({ args: bad[i], code: out.code }).toEqual({ args: bad[i], code: 2 });
      expect(out.stderr).toContain('usage: npm run ops');
    }
    const missing = await ops('task', '00000000-0000-4000-8000-000000000000', '--json');
    expect(missing.code).toBe(1);
    expect(missing.json.error.code).toBe('not_found:task');
  });

  it('stats --json reports the window', async () => {
    const out = await ops('stats', '--days', '2', '--json');
    expect(out.code).toBe(0);
    expect(out.json.series).toHaveLength(2);
    expect(out.json.totals).toMatchObject({ tasksCompleted: 1, tasksFailed: 0 });
    expect(out.json.queue).toMatchObject({ funded: 1, completed: 1, cancelled: 1 });
  });
});
