import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { claimNext, claimNextTask, releaseTaskLease, renewTaskLease } from '@/db/task-queue';
import { transitionTask } from '@/db/tasks';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';

// The claim query on its own (no worker running): order, one driver per wallet, leases.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
}, 90_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

async function funded(userIndex: number, priority = 0) {
  const task = await createPendingTask({
    userAddress: user(userIndex).address,
    token: stack.deployment.tokens[0]!.address,
    quantity: 3,
  });
  await getSql()`update ai_agent_tasks set priority = ${priority} where id = ${task.id}`;
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
  return task;
}

describe('claimNextTask', () => {
  it('claims by priority, then age; never two tasks of one wallet; expired leases come back', async () => {
    const old = await funded(1);
    const vip = await funded(2, 5);
    const sameWalletA = await funded(3);
    const sameWalletB = await funded(3);

    const first = await claimNextTask({ workerId: 'w1', leaseMs: 60_000 });
    expect(first!.id).toBe(vip.id);
    expect(first!.status).toBe('processing');
    expect(first!.lockedBy).toBe('w1');
    expect(first!.startedAt).toBeTruthy();
    expect((await claimNextTask({ workerId: 'w2', leaseMs: 60_000 }))!.id).toBe(old.id);
    expect((await claimNextTask({ workerId: 'w1', leaseMs: 60_000 }))!.id).toBe(sameWalletA.id);
    // B's wallet is driven by w1 (A holds a live lease): nobody may take B now.
    expect(await claimNextTask({ workerId: 'w2', leaseMs: 60_000 })).toBeUndefined();

    // Only the owner renews; a released task is claimable at once and keeps its progress state.
    expect(await renewTaskLease({ id: sameWalletA.id, workerId: 'w2', leaseMs: 60_000 })).toBeUndefined();
    expect(await renewTaskLease({ id: sameWalletA.id, workerId: 'w1', leaseMs: 60_000 })).toEqual({
      cancelRequested: false,
    });
    await releaseTaskLease({ id: sameWalletA.id, workerId: 'w1' });
    const again = await claimNextTask({ workerId: 'w2', leaseMs: 60_000 });
    expect([sameWalletA.id, sameWalletB.id]).toContain(again!.id);
    expect(await claimNextTask({ workerId: 'w3', leaseMs: 60_000 })).toBeUndefined();

    // A dead worker's lease runs out and another worker takes the task over.
    await getSql()`update ai_agent_tasks set locked_until = now() - interval '1 second' where id = ${old.id}`;
    const taken = await claimNextTask({ workerId: 'w3', leaseMs: 60_000 });
    expect(taken!.id).toBe(old.id);
    expect(taken!.lockedBy).toBe('w3');
  }, 60_000);

  it('two workers claiming at the same moment never get the same task or wallet', async () => {
    await getSql()`update ai_agent_tasks set status = 'completed', locked_by = null, locked_until = null where status in ('funded', 'processing')`;
    const tasks = [];
    for (const i of [4, 5, 6, 4, 5]) tasks.push(await funded(i));
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimNextTask({ workerId: `c${i}`, leaseMs: 60_000 })),
    );
    const won = claims.filter((t) => t !== undefined);
    expect(won).toHaveLength(3);
    expect(new Set(won.map((t) => t!.id)).size).toBe(3);
    expect(new Set(won.map((t) => t!.agentWalletId)).size).toBe(3);
  }, 60_000);

  it('says whether another task was waiting, so a worker does not end each wake-up with an empty claim', async () => {
    await getSql()`update ai_agent_tasks set status = 'completed', locked_by = null, locked_until = null where status in ('funded', 'processing')`;
    const a = await funded(7);
    const b = await funded(8);
    const first = await claimNext({ workerId: 'm1', leaseMs: 60_000 });
    expect(first!.task.id).toBe(a.id);
    expect(first!.more).toBe(true);
    // The last one waiting: nothing more. A task in its backoff is not waiting either.
    const backingOff = await funded(9);
    await getSql()`update ai_agent_tasks set next_attempt_at = now() + interval '1 hour' where id = ${backingOff.id}`;
    const second = await claimNext({ workerId: 'm1', leaseMs: 60_000, exclude: [a.id] });
    expect(second!.task.id).toBe(b.id);
    expect(second!.more).toBe(false);
    expect(await claimNext({ workerId: 'm1', leaseMs: 60_000 })).toBeUndefined();
    // A processing task whose lease ran out is waiting (its worker died).
    const c = await funded(10);
    await getSql()`update ai_agent_tasks set locked_until = now() - interval '1 second' where id = ${a.id}`;
    const third = await claimNext({ workerId: 'm2', leaseMs: 60_000 });
    expect(third!.task.id).toBe(a.id);
    expect(third!.more).toBe(true);
    expect((await claimNext({ workerId: 'm2', leaseMs: 60_000 }))!.task.id).toBe(c.id);
  }, 60_000);
});
