import { LeaseLostError } from '@/db/mint-records';
import { deferTask, recordTaskAttemptFailure, releaseTaskLease } from '@/db/task-queue';
import { transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getConfig } from '@/lib/config';
import { watchCancel } from './cancel-watch';
import { LeaseKeeper } from './lease';
import type { Outcome, TaskRef } from './reporter';
import { backoffMs, sleep } from './sleep';
import type { Ending, RunOptions, TaskExecutor, TurnEnd } from './task-executor';

/** How often the lease's copy of the cancel flag is looked at (no query: the renewal reads it). */
const LEASE_CANCEL_POLL_MS = 250;

/**
 * Runs one claimed task with its route's executor until it completes, fails, is cancelled or is
 * given back (shutdown, lost lease, deferred). Each turn: the executor reconciles its ledger with
 * the chain and says where the task stands; the loop ends the task when every mint is done or its
 * owner cancelled (after the route's wind-down), otherwise the route runs a batch and the loop
 * waits as long as that asks. A cancel cuts any wait short. Transient errors back off without
 * counting; any other error counts as an attempt, and the task fails after MAX_RETRIES.
 */
export async function runTask<Run extends { task: TaskRef }, Ready>(
  executor: TaskExecutor<Run, Ready>,
  claimed: TaskWithAgent,
  { workerId, reporter, drain }: Omit<RunOptions, 'stop'>,
): Promise<Outcome> {
  const config = getConfig().worker;
  const lease = new LeaseKeeper(claimed.id, workerId, config.leaseMs, (e) =>
    reporter.error(claimed, e, 'lease renewal failed'),
  );
  const stop = stopSignal(claimed.id, drain, lease);
  const run = executor.start(claimed, { workerId, reporter, drain, stop: stop.signal });
  const { task } = run;
  const done = (outcome: Outcome, message?: string) => {
    reporter.taskFinished(task, outcome, message);
    return outcome;
  };
  // A cancel cuts the wait it arrives in short; once seen, waits run their course (a route still
  // winding down must not spin).
  const waitSignal = () => (stop.signal.aborted ? drain : stop.signal);
  /** The task ends, is given back, or the loop waits before the next turn; an outcome when the run is over. */
  const follow = async (next: TurnEnd): Promise<Outcome | undefined> => {
    if (next.end === 'deferred') {
      await deferTask({ id: task.id, workerId, ms: next.ms });
      return done('released', next.message);
    }
    if (next.end) return done(await finish(task, next.end, next.message), next.message);
    const paced = next.paced && task.mintsCompleted < task.quantity ? config.mintIntervalMs : 0;
    const pause = Math.max(next.waitMs ?? 0, paced);
    if (pause > 0) {
      if (paced > 0) reporter.waiting(task, pause);
      await sleep(pause, next.outlastsCancel ? drain : waitSignal());
    }
  };
  reporter.taskStarted(task);
  let transientFailures = 0;
  /**
   * Set when the attempts are spent: the route winds down to this failure on the next turn, and
   * an error from that wind-down (a node down while it cancels what it signed) backs off and
   * tries again like a transient one, never left to escape the run with the task still leased.
   */
  let failing: Ending | undefined;
  try {
    for (;;) {
      if (lease.lost) return done('released');
      if (drain.aborted) {
        await releaseTaskLease({ id: claimed.id, workerId });
        return done('released');
      }
      try {
        const next = failing ? await windDown(executor, run, failing) : await turn(executor, run);
        if (next === 'released') return done('released');
        transientFailures = 0;
        const outcome = await follow(next);
        failing = undefined; // a wind-down still under way says so in the route's own prepare from here
        if (outcome) return outcome;
      } catch (error) {
        if (error instanceof LeaseLostError) return done('released');
        const failure = executor.classify(error);
        const { kind, reason, message } = failure;
        if (kind === 'transient' || failing) {
          // 250 ms doubling to 5 s: a node restart (~2 s) is retried within a second or two,
          // a long outage costs one cheap request every 5 s; the task stays processing throughout.
          const delay = backoffMs(++transientFailures, 250, 5_000);
          reporter.retrying(task, { kind, reason, message }, delay, transientFailures);
          await sleep(delay, waitSignal());
          continue;
        }
        // Counted in the task row, so the count and the wait before the next try (1 s doubling
        // to 60 s) hold across workers and restarts.
        const { attempts, retryInMs } = await recordTaskAttemptFailure({ id: claimed.id, error: message });
        if (attempts > config.maxRetries || failure.final) {
          failing = { outcome: 'failed', reason: message };
          continue;
        }
        reporter.retrying(task, { kind, reason, message }, retryInMs, attempts);
        await sleep(retryInMs, waitSignal());
      }
    }
  } finally {
    lease.stop();
    stop.close();
  }
}

/** One turn: where the task stands, then its ending or one batch of the route's. */
async function turn<Run extends { task: TaskRef }, Ready>(
  executor: TaskExecutor<Run, Ready>,
  run: Run,
): Promise<TurnEnd | 'released'> {
  const prepared = await executor.prepare(run);
  if (!prepared || prepared.progress.status !== 'processing') return 'released';
  const { progress, ready, ending } = prepared;
  run.task.mintsCompleted = progress.mintsCompleted;
  if (ending) return windDown(executor, run, ending);
  if (progress.mintsCompleted >= progress.quantity) return windDown(executor, run, { outcome: 'completed' });
  if (progress.cancelRequested)
    return windDown(executor, run, { outcome: 'cancelled', reason: 'cancelled by the user' });
  return executor.runBatch(ready, progress);
}

function windDown<Run extends { task: TaskRef }, Ready>(
  executor: TaskExecutor<Run, Ready>,
  run: Run,
  ending: Ending,
): Promise<TurnEnd> {
  if (executor.windDown) return executor.windDown(run, ending);
  return Promise.resolve({ end: ending.outcome, message: ending.outcome === 'failed' ? ending.reason : undefined });
}

/**
 * Moves a processing task to its terminal status and gives up the lease (completed and cancelled
 * tasks get their end time, as the cancel route gives one). 'released' when the task was no
 * longer processing: an operator or another worker moved it first.
 */
async function finish(task: TaskRef, to: 'completed' | 'failed' | 'cancelled', message?: string): Promise<Outcome> {
  const moved = await transitionTask({
    id: task.id,
    from: 'processing',
    to,
    set: {
      errorMessage: message ?? null,
      ...(to === 'failed' ? {} : { completedAt: new Date() }),
      lockedBy: null,
      lockedUntil: null,
    },
  });
  return moved ? to : 'released';
}

/** Aborts when the worker drains or the task's owner cancels it (heard on LISTEN, or read by the lease renewal). */
function stopSignal(taskId: string, drain: AbortSignal, lease: LeaseKeeper) {
  const cancelled = new AbortController();
  const cancel = () => cancelled.abort();
  const unwatch = watchCancel(taskId, cancel);
  const poll = setInterval(() => lease.cancelRequested && cancel(), LEASE_CANCEL_POLL_MS);
  return {
    signal: AbortSignal.any([drain, cancelled.signal]),
    close() {
      unwatch();
      clearInterval(poll);
    },
  };
}
