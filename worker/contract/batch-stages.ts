import { MintRevertError } from '@/lib/chain/revert-reasons';
import { presignNext } from './authorizations';
import { LedgerWriter } from './ledger';
import type { BatchPlan, SignedBatch, TaskRuntime } from './runtime';
import type { Settlement } from './settlement';

// The stages of a batch, for both ways of executing (one transaction per mint:
// single-mint-batch.ts; one EIP-7702 transaction per batch: eip7702-batch.ts): signed, written
// to the ledger (ledger.ts, the same for both), broadcast, collected from the chain, settled in
// the ledger (ledger.ts again). A paced batch runs them one after another (runBatchAlone);
// unpaced batches overlap (mint-pipeline.ts).

/** What the chain said about a batch; `failure` ends the run once the settlement is in the ledger. */
export type Collected = { settlement: Settlement; failure?: Error };

/** How one way of executing signs, sends and collects a batch. */
export type BatchStages<B extends SignedBatch> = {
  sign(rt: TaskRuntime, plan: BatchPlan): Promise<B>;
  broadcast(rt: TaskRuntime, batch: B): Promise<void>;
  collect(rt: TaskRuntime, batch: B): Promise<Collected>;
  /** The nonce the batch after this one takes. */
  nextNonce(batch: B): number;
  /** Whether this batch must settle before the next is signed (its nonce depends on how it went). */
  settlesAlone?(batch: B): boolean;
};

/**
 * One batch, start to end: signed, written, broadcast, collected and settled. While the chain
 * is answering, the next batch's mint authorizations are signed (the CPU is otherwise idle
 * then). A reverted mint ends it as that revert (one attempt; the reason for the owner).
 */
export async function runBatchAlone<B extends SignedBatch>(
  rt: TaskRuntime,
  plan: BatchPlan,
  stages: BatchStages<B>,
): Promise<void> {
  const ledger = new LedgerWriter(rt);
  const batch = await stages.sign(rt, plan);
  await ledger.write(batch);
  await stages.broadcast(rt, batch);
  const [{ settlement, failure }] = await Promise.all([stages.collect(rt, batch), presignNext(rt, plan.sequences)]);
  await ledger.settle(settlement, { size: batch.mints.length, started: batch.started });
  if (failure) throw failure;
  const [revert] = settlement.reverts;
  if (revert) throw new MintRevertError(revert.reason, revert.message);
}
