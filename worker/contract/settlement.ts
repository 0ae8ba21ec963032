import { decodeFunctionData, parseTransaction } from 'viem';
import type { ConfirmedMint, FailedMint } from '@/db/task-queue';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { classifyChainError, revertMessageOf, type RevertReason } from '@/lib/chain/revert-reasons';
import { isMintIdUsed, type CollectContext, type MintOutcome, type PendingMint } from './mint-chain';

// What the chain's outcomes mean for the ledger, mint by mint: confirmed (with its receipt's
// gas), failed (its mintId is re-signed later), or reverted with a reason the owner can read.

export type Revert = { reason: RevertReason; message: string };
export type Settlement = { confirmed: ConfirmedMint[]; failed: FailedMint[]; reverts: Revert[] };

/** Turns chain outcomes into ledger updates; a reverted mint gets its decoded, readable reason. */
export async function settleOutcomes(ctx: CollectContext, outcomes: MintOutcome[]): Promise<Settlement> {
  const settlement: Settlement = { confirmed: [], failed: [], reverts: [] };
  for (const outcome of outcomes) {
    const { mint } = outcome;
    if (outcome.kind === 'receipt' && outcome.receipt.status === 'success') {
      const { receipt } = outcome;
      settlement.confirmed.push({
        sequenceNumber: mint.sequenceNumber,
        txHash: receipt.transactionHash,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        effectiveGasPrice: receipt.effectiveGasPrice,
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
    // A ledger row's transaction calls the token's mint; anything else has no reason to replay.
    const call = decodeFunctionData({ abi: paidMintTokenAbi, data: tx.data! });
    if (call.functionName === 'mint')
      await ctx.client.simulateContract({
        account: ctx.task.agentAddress,
        address: ctx.task.tokenAddress,
        abi: paidMintTokenAbi,
        functionName: 'mint',
        args: call.args,
        blockNumber,
      });
  } catch (error) {
    const kind = classifyChainError(error);
    if (kind.kind === 'revert') return { reason: kind.reason, message: kind.message };
  }
  return revertMessageOf(undefined);
}
