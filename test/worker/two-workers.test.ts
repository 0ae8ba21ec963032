import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import {
  createFundedTask,
  expectLedgerMatchesChain,
  spawnWorker,
  useWorkerStack,
  waitForTasks,
  type WorkerChild,
} from './support';

// Two worker processes on one database and one chain. Five tasks, two of them on the same
// agent wallet. Each task must be driven by exactly one worker, the two tasks of one wallet
// must never overlap in time, and every (agent, nonce) and mintId is used once.

const setup = useWorkerStack({
  env: {
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '100',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
  },
});

type Line = { event?: string; taskId?: string; workerId?: string };
const linesOf = (w: WorkerChild): Line[] =>
  w
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

describe('two workers on one database', () => {
  it('never drive one task or one wallet from both; everything completes', async () => {
    setup.children.push(
      spawnWorker({ ...setup.stack.env, WORKER_ID: 'worker-a' }),
      spawnWorker({ ...setup.stack.env, WORKER_ID: 'worker-b' }),
    );
    const deadline = Date.now() + 30_000;
    while (!setup.children.every((w) => w.output().includes('worker_started')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));

    const token = setup.stack.deployment.tokens[0]!.address;
    const specs = [
      { userIndex: 1, quantity: 20 },
      { userIndex: 1, quantity: 15 },
      { userIndex: 2, quantity: 20 },
      { userIndex: 3, quantity: 20 },
      { userIndex: 4, quantity: 15 },
    ];
    const tasks = [];
    for (const spec of specs) tasks.push(await createFundedTask(setup.stack, spec));
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      90_000,
    );
    for (const t of done) expect(t.status, t.errorMessage ?? '').toBe('completed');

    const drivers = new Map<string, Set<number>>();
    setup.children.forEach((w, i) => {
      for (const line of linesOf(w))
        if (line.event === 'batch_recorded' && line.taskId)
          drivers.set(line.taskId, (drivers.get(line.taskId) ?? new Set()).add(i));
    });
    for (const t of tasks) expect([...(drivers.get(t.id) ?? [])], `drivers of ${t.id}`).toHaveLength(1);
    const used = new Set([...drivers.values()].flatMap((s) => [...s]));
    expect(used.size, 'both workers took tasks').toBe(2);

    // The same wallet's two tasks ran one after the other.
    const spans = await getSql()<{ task_id: string; first: number; last: number }[]>`
      select task_id, extract(epoch from min(created_at))::float8 as first, extract(epoch from max(confirmed_at))::float8 as last
      from ai_agent_mint_records
      where task_id in ${getSql()([tasks[0]!.id, tasks[1]!.id])} group by task_id order by first`;
    expect(spans).toHaveLength(2);
    expect(spans[0]!.last).toBeLessThanOrEqual(spans[1]!.first);

    await expectLedgerMatchesChain(
      token,
      tasks.map((t) => t.id),
    );
    for (const w of setup.children) w.child.kill('SIGTERM');
    for (const w of setup.children) expect((await w.exited).code).toBe(0);
  }, 150_000);

  it('SIGTERM drains: the batch in flight settles, the lease is released, exit 0; another worker finishes', async () => {
    const task = await createFundedTask(setup.stack, { userIndex: 5, quantity: 30 });
    const draining = spawnWorker({ ...setup.stack.env, WORKER_ID: 'worker-c', MINT_INTERVAL_MS: '300' });
    setup.children.push(draining);
    const deadline = Date.now() + 30_000;
    while (!draining.output().includes('batch_started') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    draining.child.kill('SIGTERM');
    expect((await draining.exited).code, draining.output()).toBe(0);
    const [row] = await getSql()<{ status: string; locked_by: string | null; mints_completed: number }[]>`
      select status, locked_by, mints_completed from ai_agent_tasks where id = ${task.id}`;
    expect(row).toMatchObject({ status: 'processing', locked_by: null });
    expect(row!.mints_completed).toBeGreaterThanOrEqual(5);
    expect(
      await getSql()`select 1 from ai_agent_mint_records where task_id = ${task.id} and status <> 'confirmed'`,
    ).toHaveLength(0);

    const next = spawnWorker({ ...setup.stack.env, WORKER_ID: 'worker-d' });
    setup.children.push(next);
    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 60_000);
    expect(done!.status).toBe('completed');
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
  }, 120_000);
});
