import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNextTask, getTaskProgress } from '@/db/task-queue';
import { getTaskById, transitionTask } from '@/db/tasks';
import { Reporter, type TaskRef } from '@/worker/reporter';
import { runTask } from '@/worker/run-task';
import type { Ending, Failure, TaskExecutor, TurnEnd } from '@/worker/task-executor';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';

// The one task loop on its own, on real Postgres, with a route whose steps fail on purpose: what
// the loop does when a route's wind-down itself throws once its attempts are spent.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ env: { MAX_RETRIES: '0' } });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

class NodeDown extends Error {}

/** A route whose every batch reverts and whose wind-down meets a node that is down `windDownFailures` times. */
function failingRoute(windDownFailures: number) {
  const endings: Ending[] = [];
  let windDowns = 0;
  const executor: TaskExecutor<{ task: TaskRef }> = {
    start: (task) => ({ task: { ...task } }),
    prepare: async (run) => {
      const progress = await getTaskProgress({ id: run.task.id });
      return progress && { progress, ready: run };
    },
    runBatch: async () => {
      throw new Error('execution reverted: sold out');
    },
    windDown: async (_run, ending): Promise<TurnEnd> => {
      endings.push(ending);
      if (++windDowns <= windDownFailures) throw new NodeDown('fetch failed: ECONNREFUSED');
      return { end: ending.outcome, message: ending.reason };
    },
    classify: (error): Failure =>
      error instanceof NodeDown
        ? { kind: 'transient', reason: 'rpc', message: 'the node is down' }
        : { kind: 'revert', reason: 'revert', message: (error as Error).message },
  };
  return { executor, endings, windDowns: () => windDowns };
}

class RecordingReporter extends Reporter {
  readonly retries: { reason: string; attempt: number }[] = [];
  constructor() {
    super({ pretty: true });
  }
  override retrying(
    task: TaskRef,
    error: { kind: string; reason: string; message: string },
    _delay: number,
    attempt: number,
  ) {
    this.retries.push({ reason: error.reason, attempt });
  }
}

async function claimFunded(userIndex: number) {
  const task = await createPendingTask({
    userAddress: user(userIndex).address,
    token: stack.deployment.tokens[0]!.address,
    quantity: 2,
  });
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
  const claimed = await claimNextTask({ workerId: 'run-task-test', leaseMs: 60_000 });
  expect(claimed!.id).toBe(task.id);
  return claimed!;
}

describe('runTask', () => {
  it('a wind-down that throws after the last attempt is retried with backoff until the task ends failed, lease given up', async () => {
    const claimed = await claimFunded(1);
    const route = failingRoute(2);
    const reporter = new RecordingReporter();
    const outcome = await runTask(route.executor, claimed, {
      workerId: 'run-task-test',
      reporter,
      drain: new AbortController().signal,
    });

    expect(outcome).toBe('failed');
    expect(route.windDowns()).toBe(3);
    expect(route.endings).toEqual(Array(3).fill({ outcome: 'failed', reason: 'execution reverted: sold out' }));
    expect(reporter.retries).toEqual([
      { reason: 'rpc', attempt: 1 },
      { reason: 'rpc', attempt: 2 },
    ]);
    const task = await getTaskById({ id: claimed.id });
    expect(task).toMatchObject({ status: 'failed', errorMessage: 'execution reverted: sold out', lockedBy: null });
  }, 30_000);

  it('a drain while the wind-down keeps failing gives the task back, still processing, for the next worker to end', async () => {
    const claimed = await claimFunded(2);
    const route = failingRoute(Infinity);
    const drain = new AbortController();
    const reporter = new RecordingReporter();
    const running = runTask(route.executor, claimed, { workerId: 'run-task-test', reporter, drain: drain.signal });
    await expect.poll(() => route.windDowns(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    drain.abort();

    expect(await running).toBe('released');
    const task = await getTaskById({ id: claimed.id });
    expect(task).toMatchObject({ status: 'processing', lockedBy: null });
  }, 30_000);
});
