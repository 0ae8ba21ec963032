import { LeaseLostError } from '@/db/mint-records';
import { getTaskProgress, recordTaskAttemptFailure, releaseTaskLease } from '@/db/task-queue';
import { transitionTask, type TaskWithAgent } from '@/db/tasks';
import { classifyChainError, FINAL_REVERT_REASONS, type RevertReason } from '@/lib/chain/revert-reasons';
import { GuardError } from '@/lib/wallets/tx-guard';
import { getConfig } from '@/lib/config';
import { LeaseKeeper } from '../lease';
import type { Outcome } from '../reporter';
import type { ExecuteOptions } from '../route';
import { backoffMs, sleep } from '../sleep';
import { runX402Batch, X402RefusedError } from './batch';
import { x402RuntimeOf, type X402Runtime } from './runtime';

/**
 * Runs one claimed x402 task until it completes, fails, is cancelled or is given back. Each
 * turn is one batch of at most MINT_BATCH_SIZE paid requests in flight to the endpoint
 * (batch.ts), then MINT_INTERVAL_MS of pacing. The same loop shape as the contract route:
 * transient failures back off without counting; refusals count as attempts (MAX_RETRIES).
 */
export async function executeX402Task(claimed: TaskWithAgent, options: ExecuteOptions): Promise<Outcome> {
  const config = getConfig().worker;
  const lease = new LeaseKeeper(claimed.id, options.workerId, config.leaseMs, (e) =>
    options.reporter.error(claimed, e, 'lease renewal failed'),
  );
  const rt = x402RuntimeOf(claimed, options);
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
          await sleep(pause, options.drain);
        }
      } catch (error) {
        if (error instanceof LeaseLostError) return done(rt, 'released');
        const refused = error instanceof X402RefusedError || error instanceof GuardError;
        const kind = refused
          ? { kind: 'revert' as const, reason: 'refused', message: (error as Error).message }
          : classifyChainError(error);
        if (kind.kind === 'transient' || isNetworkError(error)) {
          const delay = backoffMs(++transientFailures, 250, 5_000);
          options.reporter.retrying(
            rt.task,
            { kind: 'transient', reason: kind.reason, message: kind.message },
            delay,
            transientFailures,
          );
          await sleep(delay, options.drain);
          continue;
        }
        const { attempts, retryInMs } = await recordTaskAttemptFailure({ id: claimed.id, error: kind.message });
        if (attempts > config.maxRetries || FINAL_REVERT_REASONS.has(kind.reason as RevertReason)) {
          const failed = await transitionTask({
            id: claimed.id,
            from: 'processing',
            to: 'failed',
            set: { errorMessage: kind.message, lockedBy: null, lockedUntil: null },
          });
          return done(rt, failed ? 'failed' : 'released', kind.message);
        }
        options.reporter.retrying(rt.task, kind, retryInMs, attempts);
        await sleep(retryInMs, options.drain);
      }
    }
  } finally {
    lease.stop();
  }
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
