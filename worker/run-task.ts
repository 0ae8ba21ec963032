import { LeaseLostError } from '@/db/mint-records';
import { recordTaskAttemptFailure, releaseTaskLease } from '@/db/task-queue';
import { transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getConfig } from '@/lib/config';
import { LeaseKeeper } from './lease';
import type { Outcome, TaskRef } from './reporter';
import { backoffMs, sleep } from './sleep';
import type { BatchEnd, RunOptions, TaskExecutor } from './task-executor';

/**
 * Runs one claimed task with its route's executor until it completes, fails, is cancelled or is
 * given back (shutdown, lost lease). Each turn: the executor reconciles its ledger with the chain
 * and says where the task stands; the loop completes or cancels it when that says so, otherwise
 * the executor runs a batch and the loop waits as long as that asks. Transient errors back off
 * without counting; any other error counts as an attempt, and the task fails after MAX_RETRIES.
 */
export async function runTask<Run extends { task: TaskRef }, Ready>(
  executor: TaskExecutor<Run, Ready>,
  claimed: TaskWithAgent,
  options: RunOptions,
): Promise<Outcome> {
  const config = getConfig().worker;
  const { workerId, reporter, drain } = options;
  const lease = new LeaseKeeper(claimed.id, workerId, config.leaseMs, (e) =>
    reporter.error(claimed, e, 'lease renewal failed'),
  );
  const run = executor.start(claimed, options);
  const { task } = run;
  const done = (outcome: Outcome, message?: string) => {
    reporter.taskFinished(task, outcome, message);
    return outcome;
  };
  reporter.taskStarted(task);
  let transientFailures = 0;
  try {
    for (;;) {
      if (lease.lost) return done('released');
      if (drain.aborted) {
        await releaseTaskLease({ id: claimed.id, workerId });
        return done('released');
      }
      try {
        const next = await turn(executor, run);
        if ('outcome' in next) return done(next.outcome, next.message);
        transientFailures = 0;
        const paced = next.paced && task.mintsCompleted < task.quantity ? config.mintIntervalMs : 0;
        const pause = Math.max(next.waitMs ?? 0, paced);
        if (pause > 0) {
          if (paced > 0) reporter.waiting(task, pause);
          await sleep(pause, drain);
        }
      } catch (error) {
        if (error instanceof LeaseLostError) return done('released');
        const failure = executor.classify(error);
        const { kind, reason, message } = failure;
        if (kind === 'transient') {
          // 250 ms doubling to 5 s: a node restart (~2 s) is retried within a second or two,
          // a long outage costs one cheap request every 5 s; the task stays processing throughout.
          const delay = backoffMs(++transientFailures, 250, 5_000);
          reporter.retrying(task, { kind, reason, message }, delay, transientFailures);
          await sleep(delay, drain);
          continue;
        }
        // Counted in the task row, so the count and the wait before the next try (1 s doubling
        // to 60 s) hold across workers and restarts.
        const { attempts, retryInMs } = await recordTaskAttemptFailure({ id: claimed.id, error: message });
        if (attempts > config.maxRetries || failure.final) return done(await finish(task, 'failed', message), message);
        reporter.retrying(task, { kind, reason, message }, retryInMs, attempts);
        await sleep(retryInMs, drain);
      }
    }
  } finally {
    lease.stop();
  }
}

type Ended = { outcome: Outcome; message?: string };

/** One turn: where the task stands, then (if it goes on) one batch of the route's. */
async function turn<Run extends { task: TaskRef }, Ready>(
  executor: TaskExecutor<Run, Ready>,
  run: Run,
): Promise<Ended | Exclude<BatchEnd, { end: string }>> {
  const { task } = run;
  const { progress, ready } = await executor.prepare(run);
  if (!progress || progress.status !== 'processing') return { outcome: 'released' };
  task.mintsCompleted = progress.mintsCompleted;
  if (progress.mintsCompleted >= progress.quantity) return { outcome: await finish(task, 'completed') };
  if (progress.cancelRequested) {
    await executor.cancelOpen?.(ready);
    return { outcome: await finish(task, 'cancelled') };
  }
  const batch = await executor.runBatch(ready, progress);
  if (batch.end === 'completed') return { outcome: await finish(task, 'completed') };
  if (batch.end === 'failed') return { outcome: await finish(task, 'failed', batch.message), message: batch.message };
  return batch;
}

/**
 * Moves a processing task to its terminal status and gives up the lease. 'released' when the
 * task was no longer processing (an operator or another worker moved it first).
 */
async function finish(task: TaskRef, to: 'completed' | 'failed' | 'cancelled', message?: string): Promise<Outcome> {
  const unlocked = { lockedBy: null, lockedUntil: null };
  const set =
    to === 'completed'
      ? { completedAt: new Date(), errorMessage: null, ...unlocked }
      : to === 'failed'
        ? { errorMessage: message, ...unlocked }
        : unlocked;
  const moved = await transitionTask({ id: task.id, from: 'processing', to, set });
  return moved ? to : 'released';
}
