import { decodeFunctionData, parseTransaction, type Hex } from 'viem';
import type { OpenMintRecord } from '@/db/mint-records';
import { recordMintProgress, type ConfirmedMint, type FailedMint } from '@/db/task-queue';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { classifyChainError, revertMessageOf, type RevertReason } from '@/lib/chain/revert-reasons';
import { fillNonceHoles } from './nonce-holes';
import {
  collectMints,
  isMintIdUsed,
  ReceiptTimeoutError,
  type CollectContext,
  type MintOutcome,
  type PendingMint,
} from './mint-collector';

// Brings the ledger in line with the chain before anything new is signed. For each row that was
// signed or sent but never settled: a receipt settles it; a used mintId means it was minted
// (by this or an earlier transaction) and it is never minted again under a new id; a nonce the
// chain moved past without using the mintId means the transaction was replaced or dropped, so
// the row fails and the same mintId is re-signed with a new nonce; otherwise the stored signed
// transaction is broadcast again (identical bytes, so at most one of the copies can be mined).
// A nonce below an open row that no recorded transaction will use is filled first
// (nonce-holes.ts), and a collection that times out still settles what it learned.

export type Revert = { reason: RevertReason; message: string };
export type Settlement = { confirmed: ConfirmedMint[]; failed: FailedMint[]; reverts: Revert[] };

export async function reconcileTask(ctx: CollectContext, rows: OpenMintRecord[]) {
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

/** Turns chain outcomes into ledger updates; a reverted mint gets its decoded, readable reason. */
export async function settleOutcomes(ctx: CollectContext, outcomes: MintOutcome[]): Promise<Settlement> {
  const settlement: Settlement = { confirmed: [], failed: [], reverts: [] };
  for (const outcome of outcomes) {
    const { mint } = outcome;
    if (outcome.kind === 'receipt' && outcome.receipt.status === 'success') {
      const r = outcome.receipt;
      settlement.confirmed.push({
        sequenceNumber: mint.sequenceNumber,
        txHash: r.transactionHash,
        blockNumber: r.blockNumber,
        gasUsed: r.gasUsed,
        effectiveGasPrice: r.effectiveGasPrice,
      });
      continue;
    }
    if (outcome.kind === 'used' || (outcome.kind === 'receipt' && (await isMintIdUsed(ctx, mint.mintId)))) {
      settlement.confirmed.push(await findMintTransaction(ctx, mint));
      continue;
    }
    if (outcome.kind === 'dropped') {
      settlement.failed.push({
        sequenceNumber: mint.sequenceNumber,
        error: `nonce ${mint.nonce} was used by another transaction; re-signing the same mint`,
      });
      continue;
    }
    const reason = await revertReason(ctx, mint, outcome.receipt.blockNumber);
    settlement.reverts.push(reason);
    settlement.failed.push({ sequenceNumber: mint.sequenceNumber, error: reason.message });
  }
  return settlement;
}

/** The transaction that used a mintId, from its Minted event (indexed by mintId). */
export async function findMintTransaction(ctx: CollectContext, mint: PendingMint): Promise<ConfirmedMint> {
  const latest = await ctx.client.getBlockNumber({ cacheTime: 0 });
  // 50,000 blocks is ~28 h on Base (2 s blocks): far longer than a task's ledger stays open.
  const fromBlock = latest > 50_000n ? latest - 50_000n : 0n;
  const [log] = await ctx.client.getContractEvents({
    address: ctx.task.tokenAddress,
    abi: paidMintTokenAbi,
    eventName: 'Minted',
    args: { mintId: mint.mintId },
    fromBlock,
  });
  if (!log?.transactionHash)
    return {
      sequenceNumber: mint.sequenceNumber,
      txHash: mint.hashes.at(-1)!,
      blockNumber: null,
      gasUsed: null,
      effectiveGasPrice: null,
    };
  const receipt = await ctx.client.getTransactionReceipt({ hash: log.transactionHash });
  return {
    sequenceNumber: mint.sequenceNumber,
    txHash: log.transactionHash,
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
    effectiveGasPrice: receipt.effectiveGasPrice,
  };
}

/** Replays the reverted call against the state of its block to decode the custom error. */
async function revertReason(ctx: CollectContext, mint: PendingMint, blockNumber: bigint): Promise<Revert> {
  const tx = parseTransaction(mint.raw);
  try {
    const { args } = decodeFunctionData({ abi: paidMintTokenAbi, data: tx.data! });
    await ctx.client.simulateContract({
      account: ctx.task.agentAddress,
      address: ctx.task.tokenAddress,
      abi: paidMintTokenAbi,
      functionName: 'mint',
      args: args as never,
      blockNumber,
    });
  } catch (error) {
    const kind = classifyChainError(error);
    if (kind.kind === 'revert') return { reason: kind.reason, message: kind.message };
  }
  return revertMessageOf(undefined);
}
