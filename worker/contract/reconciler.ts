import { isAddressEqual, parseTransaction, type Hex } from 'viem';
import type { OpenMintRecord } from '@/db/mint-records';
import { recordMintProgress } from '@/db/task-queue';
import { NotDelegatedError, settleBatchOutcome } from './eip7702-settle';
import type { CollectContext, MintOutcome, PendingMint } from './mint-chain';
import { collectMints, ReceiptTimeoutError } from './mint-collector';
import { fillNonceHoles } from './nonce-holes';
import { settleOutcomes, type Settlement } from './settlement';

// Brings the ledger in line with the chain before anything new is signed. For each row that was
// signed or sent but never settled: a receipt settles it; a used mintId means it was minted
// (by this or an earlier transaction) and it is never minted again under a new id; a nonce the
// chain moved past without using the mintId means the transaction was replaced or dropped, so
// the row fails and the same mintId is re-signed with a new nonce; otherwise the stored signed
// transaction is broadcast again (identical bytes, so at most one of the copies can be mined).
// A nonce below an open row that no recorded transaction will use is filled first
// (nonce-holes.ts), and a collection that times out still settles what it learned.

/**
 * Open ledger rows after a crash or an error: rows that share a batch transaction (sent by the
 * agent to itself) are settled together from that transaction; the rest as single mints.
 */
export async function reconcileOpenMints(ctx: CollectContext, rows: OpenMintRecord[]) {
  const groups = new Map<string, OpenMintRecord[]>();
  for (const row of rows) if (row.txHash) groups.set(row.txHash, [...(groups.get(row.txHash) ?? []), row]);
  const single: OpenMintRecord[] = rows.filter((r) => !r.txHash);
  const batches: { raw: Hex; rows: OpenMintRecord[] }[] = [];
  for (const group of groups.values()) {
    const raw = group.find((r) => r.rawTransaction)?.rawTransaction as Hex | undefined;
    const to = raw ? parseTransaction(raw).to : undefined;
    if (raw && to && isAddressEqual(to, ctx.task.agentAddress)) batches.push({ raw, rows: group });
    else single.push(...group);
  }
  if (batches.length === 0) return reconcileSingleMints(ctx, single);
  const settlement: Settlement = { confirmed: [], failed: [], reverts: [] };
  let ranNoCode = false;
  if (single.length) {
    const singles = await reconcileSingleMints(ctx, single);
    if (singles) settlement.reverts.push(...singles.settlement.reverts);
  }
  for (const { raw, rows: group } of batches) {
    const first = group.reduce((a, b) => (a.sequenceNumber < b.sequenceNumber ? a : b));
    const pending: PendingMint = {
      sequenceNumber: first.sequenceNumber,
      mintId: first.mintId as Hex,
      nonce: first.nonce,
      raw,
      hashes: [first.txHash as Hex],
      batch: true,
    };
    const [outcome] = await collectMints(ctx, [pending], { rebroadcast: true });
    const settled = await settleBatchOutcome(
      ctx,
      outcome!,
      group.map((r) => ({ sequenceNumber: r.sequenceNumber, mintId: r.mintId as Hex })),
    );
    settlement.confirmed.push(...settled.confirmed);
    settlement.failed.push(...settled.failed);
    settlement.reverts.push(...settled.reverts);
    ranNoCode ||= settled.ranNoCode;
  }
  const task = await recordMintProgress({
    taskId: ctx.task.id,
    confirmed: settlement.confirmed,
    failed: settlement.failed,
  });
  ctx.reporter.reconciled(ctx.task, {
    checked: rows.length,
    confirmed: settlement.confirmed.length,
    failed: settlement.failed.length,
  });
  if (ranNoCode) throw new NotDelegatedError(ctx.task.agentAddress);
  return { task, settlement };
}

/** Open rows of one-transaction-per-mint sends: holes filled, receipts collected, outcomes settled. */
async function reconcileSingleMints(ctx: CollectContext, rows: OpenMintRecord[]) {
  if (rows.length === 0) return undefined;
  const pending: PendingMint[] = rows
    .filter((r) => r.rawTransaction && r.txHash)
    .map((r) => ({
      sequenceNumber: r.sequenceNumber,
      mintId: r.mintId as Hex,
      nonce: r.nonce,
      raw: r.rawTransaction as Hex,
      hashes: [r.txHash as Hex],
    }));
  await fillNonceHoles(ctx, pending);
  let outcomes: MintOutcome[];
  try {
    outcomes = await collectMints(ctx, pending, { rebroadcast: true });
  } catch (error) {
    // Out of time with some mints still unmined: what was learned about the others (mined,
    // used, dropped) is settled now, so the next look starts from it instead of from scratch.
    if (error instanceof ReceiptTimeoutError && error.outcomes.length > 0)
      await settle(ctx, rows.length, error.outcomes);
    throw error;
  }
  return settle(ctx, rows.length, outcomes);
}

async function settle(ctx: CollectContext, checked: number, outcomes: MintOutcome[]) {
  const settlement = await settleOutcomes(ctx, outcomes);
  const task = await recordMintProgress({
    taskId: ctx.task.id,
    confirmed: settlement.confirmed,
    failed: settlement.failed,
  });
  ctx.reporter.reconciled(ctx.task, {
    checked,
    confirmed: settlement.confirmed.length,
    failed: settlement.failed.length,
  });
  return { task, settlement };
}
