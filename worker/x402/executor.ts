import { getTaskProgress } from '@/db/task-queue';
import { getX402TaskState } from '@/db/x402-task-state';
import { classifyChainError, FINAL_REVERT_REASONS } from '@/lib/chain/revert-reasons';
import { GuardError } from '@/lib/wallets/tx-guard';
import type { TaskExecutor } from '../task-executor';
import { noteProgress, runX402Batch, type X402Turn } from './batch';
import { reconcileOpenPayments, recordProgress, windDown } from './ending';
import { ensureSigner, x402RuntimeOf, type X402Runtime } from './runtime';

/**
 * The x402 route: the agent buys each mint from a seller's endpoint with an EIP-3009 payment.
 * Each turn settles with the chain what the ledger left open and counts what the seller
 * delivered, then sends one batch of paid requests (batch.ts); whatever stops the task, it ends
 * only once none of its authorizations can move money (ending.ts).
 */
export const x402Executor: TaskExecutor<X402Runtime, X402Turn> = {
  start: x402RuntimeOf,
  prepare,
  runBatch: runX402Batch,
  windDown,
  classify(error) {
    // The x402 guard refused to sign what an endpoint asked for: an attempt, never a retry loop.
    if (error instanceof GuardError) return { kind: 'revert', reason: 'refused', message: error.message };
    const kind = classifyChainError(error);
    // An endpoint that is down or resets the connection is as transient as a node that is.
    if (isNetworkError(error)) return { ...kind, kind: 'transient' };
    return { ...kind, final: kind.kind === 'revert' && FINAL_REVERT_REASONS.has(kind.reason) };
  },
};

async function prepare(rt: X402Runtime) {
  const progress = await getTaskProgress({ id: rt.task.id });
  if (!progress || progress.status !== 'processing') return undefined;
  await ensureSigner(rt);
  const state = await getX402TaskState({ taskId: rt.task.id, retries: rt.task.retries });
  const open = await reconcileOpenPayments(rt);
  const tally = await recordProgress(rt);
  noteProgress(rt, tally);
  return {
    // Delivered mints are what counts as done (recordProgress just wrote them).
    progress: { ...progress, mintsCompleted: rt.task.mintsCompleted },
    ready: { rt, state, open, tally },
    // A stop decided on an earlier turn (a seller's, or failed attempts) goes before done and cancel.
    ending: state.stop ?? undefined,
  };
}

function isNetworkError(error: unknown) {
  return /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up/i.test(String((error as Error)?.message));
}
