import { writeSignedMints } from '@/db/mint-records';
import { recordMintProgress } from '@/db/task-queue';
import { crashPoint } from '../crash-points';
import type { SettledBatch, SignedBatch, TaskRuntime } from './runtime';
import type { Settlement } from './settlement';

// A batch's two ledger writes, the same for both ways of executing: every mint is written,
// signed transaction and all, before anything is broadcast; and the batch is settled (ledger
// rows and the task's progress) in one statement once the chain has answered.

/** The ledger first: every mint is in it, signed transaction and all, before any is broadcast. */
export async function writeBatch(rt: TaskRuntime, { plan, mints }: SignedBatch) {
  await writeSignedMints({ taskId: rt.task.id, workerId: rt.workerId, mints });
  crashPoint('after-ledger-write');
  rt.reporter.batchStarted(rt.task, { size: mints.length, sequences: plan.sequences, nonce: plan.nonce });
}

/**
 * Settles a batch's mints and the task's progress in one transaction, and reports them. When
 * every mint was confirmed the progress it returns spares the next turn its ledger read.
 */
export async function recordSettlement(
  rt: TaskRuntime,
  settlement: Settlement,
  { size, started }: { size: number; started: number },
): Promise<SettledBatch> {
  const progress = await recordMintProgress({
    taskId: rt.task.id,
    confirmed: settlement.confirmed,
    failed: settlement.failed,
  });
  if (progress) rt.task.mintsCompleted = progress.mintsCompleted;
  rt.settled = progress && settlement.confirmed.length === size ? progress : undefined;
  for (const c of settlement.confirmed) rt.reporter.minted(rt.task, c);
  for (const f of settlement.failed) rt.reporter.mintFailed(rt.task, f);
  rt.reporter.batchRecorded(rt.task, {
    confirmed: settlement.confirmed.length,
    failed: settlement.failed.length,
    durationMs: Date.now() - started,
  });
  return { settlement, progress };
}
