import { LeaseLostError } from '@/db/mint-records';
import { getTaskProgress, recordTaskAttemptFailure, releaseTaskLease } from '@/db/task-queue';
import type { TaskWithAgent } from '@/db/tasks';
import { classifyChainError, FINAL_REVERT_REASONS, type RevertReason } from '@/lib/chain/revert-reasons';
import { GuardError } from '@/lib/wallets/tx-guard';
import { getConfig } from '@/lib/config';
import { LeaseKeeper } from '../lease';
import type { Outcome } from '../reporter';
import type { ExecuteOptions } from '../route';
import { backoffMs, sleep } from '../sleep';
import { runX402Batch } from './batch';
import { watchCancel } from './cancel-watch';
import { windDown } from './ending';
import { x402RuntimeOf, type X402Runtime } from './runtime';

/**
 * Runs one claimed x402 task until it completes, fails, is cancelled or is given back. Each
 * turn is one batch of paid requests in flight to the endpoint (batch.ts), then
 * MINT_INTERVAL_MS of pacing. The same loop shape as the contract route: transient failures
 * back off without counting; other errors count as attempts (MAX_RETRIES), after which the task
 * winds down to failed (ending.ts). A user's cancel cuts short whatever wait the run is in
 * (stopSignal); the next turn then winds the task down.
 */
export async function executeX402Task(claimed: TaskWithAgent, options: ExecuteOptions): Promise<Outcome> {
  const config = getConfig().worker;
  const lease = new LeaseKeeper(claimed.id, options.workerId, config.leaseMs, (e) =>
    options.reporter.error(claimed, e, 'lease renewal failed'),
  );
  const stop = stopSignal(claimed.id, options.drain, lease);
  const rt = x402RuntimeOf(claimed, { ...options, stop: stop.signal });
  // A cancel interrupts the wait it arrives in; once seen, waits run their course (the task is
  // already winding down and must not spin).
  const waitSignal = () => (rt.signal.aborted ? options.drain : rt.signal);
  options.reporter.taskStarted(rt.task);
  let transientFailures = 0;
  try {
    for (;;) {
      if (lease.lost) return done(rt, 'released');
      if (options.drain.aborted) {
        await releaseTaskLease({ id: claimed.id, workerId: options.workerId });
        return done(rt, 'released');
      }
      try {
        const result = await runX402Batch(rt);
        if (result.outcome) return done(rt, result.outcome, result.message);
        transientFailures = 0;
        const pause = Math.max(result.waitMs ?? 0, result.paced ? config.mintIntervalMs : 0);
        if (pause > 0) {
          if (result.paced) options.reporter.waiting(rt.task, pause);
          await sleep(pause, result.outlastsCancel ? options.drain : waitSignal());
        }
      } catch (error) {
        if (error instanceof LeaseLostError) return done(rt, 'released');
        const kind =
          error instanceof GuardError
            ? { kind: 'revert' as const, reason: 'refused', message: error.message }
            : classifyChainError(error);
        if (kind.kind === 'transient' || isNetworkError(error)) {
          const delay = backoffMs(++transientFailures, 250, 5_000);
          options.reporter.retrying(
            rt.task,
            { kind: 'transient', reason: kind.reason, message: kind.message },
            delay,
            transientFailures,
          );
          await sleep(delay, waitSignal());
          continue;
        }
        const { attempts, retryInMs } = await recordTaskAttemptFailure({ id: claimed.id, error: kind.message });
        if (attempts > config.maxRetries || FINAL_REVERT_REASONS.has(kind.reason as RevertReason)) {
          // Ends like every other stop: only once none of its authorizations can move money.
          const ended = await windDown(rt, { outcome: 'failed', reason: kind.message });
          if (ended.outcome) return done(rt, ended.outcome, ended.message);
          continue;
        }
        options.reporter.retrying(rt.task, kind, retryInMs, attempts);
        await sleep(retryInMs, waitSignal());
      }
    }
  } finally {
    lease.stop();
    stop.close();
  }
}

/** Aborts when the worker drains or the user cancels the task (heard on LISTEN, or read by the lease renewal). */
function stopSignal(taskId: string, drain: AbortSignal, lease: LeaseKeeper) {
  const cancelled = new AbortController();
  const cancel = () => cancelled.abort();
  const unwatch = watchCancel(taskId, cancel);
  const poll = setInterval(() => lease.cancelRequested && cancel(), 250);
  return {
    signal: AbortSignal.any([drain, cancelled.signal]),
    close() {
      unwatch();
      clearInterval(poll);
    },
  };
}

function isNetworkError(error: unknown) {
  return /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up/i.test(String((error as Error)?.message));
}

async function done(rt: X402Runtime, outcome: Outcome, message?: string): Promise<Outcome> {
  const progress = await getTaskProgress({ id: rt.task.id }).catch(() => undefined);
  if (progress) rt.task.mintsCompleted = progress.mintsCompleted;
  rt.reporter.taskFinished(rt.task, outcome, message);
  return outcome;
}
