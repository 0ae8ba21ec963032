import { beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { writeSignedMints } from '@/db/mint-records';
import { claimNextTask, getTaskProgress, recordMintProgress } from '@/db/task-queue';
import { getTaskById, TASK_EVENTS_CHANNEL, taskEventOf, transitionTask, type TaskEvent } from '@/db/tasks';
import { recordX402Progress } from '@/db/x402-payments';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

// Both routes record a task's progress in one statement that also notifies watchers (SSE
// streams in every web process): the event built in SQL (db/task-queue.ts
// selectProgressNotifying) must be exactly the one taskEventOf builds for every other change.

const events: TaskEvent[] = [];
const stack = useTestStack({ startTimeoutMs: 90_000 });

beforeAll(async () => {
  await getSql().listen(TASK_EVENTS_CHANNEL, (payload) => events.push(JSON.parse(payload) as TaskEvent));
});

const claimed: string[] = [];
async function claimedTask(userIndex: number, quantity: number) {
  const task = await createPendingTask({
    userAddress: user(userIndex).address,
    token: stack.deployment.tokens[0]!.address,
    quantity,
  });
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
  expect((await claimNextTask({ workerId: 'w', leaseMs: 60_000, exclude: claimed }))?.id).toBe(task.id);
  claimed.push(task.id);
  return task;
}

/** Waits for `expected` among the task's events (its claim notified one before the progress did). */
async function expectEvent(expected: TaskEvent) {
  const deadline = Date.now() + 5_000;
  const seen = () => events.filter((e) => e.taskId === expected.taskId);
  while (Date.now() < deadline && !seen().some((e) => JSON.stringify(e) === JSON.stringify(expected)))
    await new Promise((r) => setTimeout(r, 20));
  expect(seen()).toContainEqual(expected);
}

const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

describe('progress events', () => {
  it('contract route: recordMintProgress returns the counters and notifies the event taskEventOf gives', async () => {
    const task = await claimedTask(1, 3);
    const mints = [1, 2, 3].map((n) => ({
      sequenceNumber: n,
      mintId: hash(n),
      nonce: n,
      txHash: hash(100 + n),
      rawTransaction: '0x02',
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
    }));
    await writeSignedMints({ taskId: task.id, workerId: 'w', mints });
    const progress = await recordMintProgress({
      taskId: task.id,
      confirmed: [1, 2].map((n) => ({
        sequenceNumber: n,
        txHash: hash(100 + n),
        blockNumber: 7n,
        gasUsed: 21_000n,
        effectiveGasPrice: 1n,
      })),
      failed: [{ sequenceNumber: 3, error: 'reverted' }],
    });
    expect(progress).toEqual({
      id: task.id,
      status: 'processing',
      mintsCompleted: 2,
      mintsFailed: 1,
      quantity: 3,
      cancelRequested: false,
    });
    expect(await getTaskProgress({ id: task.id })).toEqual(progress);
    await expectEvent(taskEventOf((await getTaskById({ id: task.id }))!));
  });

  it('x402 route: recordX402Progress caps completed mints at the quantity and notifies the same event', async () => {
    const task = await claimedTask(2, 4);
    const progress = await recordX402Progress({ taskId: task.id, mintsCompleted: 9, mintsFailed: 1 });
    expect(progress).toEqual({
      id: task.id,
      status: 'processing',
      mintsCompleted: 4,
      mintsFailed: 1,
      quantity: 4,
      cancelRequested: false,
    });
    expect(await getTaskProgress({ id: task.id })).toEqual(progress);
    await expectEvent(taskEventOf((await getTaskById({ id: task.id }))!));
  });

  it('a task that does not exist: no progress, no event', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect(await recordX402Progress({ taskId: id, mintsCompleted: 1, mintsFailed: 0 })).toBeUndefined();
    expect(await recordMintProgress({ taskId: id, confirmed: [], failed: [] })).toBeUndefined();
    expect(events.some((e) => e.taskId === id)).toBe(false);
  });
});
