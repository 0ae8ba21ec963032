import { isAddressEqual, parseTransaction, toEventSelector, type Address, type Hex, type Log } from 'viem';
import { decodeBatchExecute, failedCallsOf } from '@/lib/chain/batch-calls';
import { agentBatchExecutorAbi, paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { revertOfReturnData } from '@/lib/chain/revert-reasons';
import { isMintIdUsed, type CollectContext, type MintOutcome, type RawLog } from './mint-chain';
import { findMintTransaction, type Settlement } from './settlement';

// Settling an EIP-7702 batch: one transaction, many mints. Its success proves nothing about any
// one mint (try mode: a failing call is skipped; and a transaction whose authorization was
// skipped runs no code at all), so each mint is settled by its own evidence: a Minted event
// with its mintId in the receipt, or its mintId used on chain; otherwise the failure event of
// its call index says why, and no event at all means the batch never ran.

export type BatchMint = { sequenceNumber: number; mintId: Hex };

/** Thrown after the ledger is settled when a batch ran no code: the agent was not delegated to our executor. */
export class NotDelegatedError extends Error {
  constructor(agent: Address) {
    super(
      `the batch ran no code: agent wallet ${agent} is not delegated to the batch executor (its authorization was not applied); its mints are not counted`,
    );
    this.name = 'NotDelegatedError';
  }
}

const MINTED = toEventSelector(paidMintTokenAbi.find((e) => e.type === 'event' && e.name === 'Minted')!);
const TRY_EXECUTE_FAIL = toEventSelector(
  agentBatchExecutorAbi.find((e) => e.type === 'event' && e.name === 'ERC7579TryExecuteFail')!,
);

/**
 * The mintIds the token's Minted events in these logs carry (mintId is the third indexed topic):
 * read from the topics as sent, since a batch of 200 has 200 such logs and nothing else is needed.
 */
function mintedIdsOf(logs: RawLog[], token: Address): Set<Hex> {
  const minted = new Set<Hex>();
  for (const log of logs)
    if (log.topics[0] === MINTED && log.topics[3] && isAddressEqual(log.address, token))
      minted.add(log.topics[3].toLowerCase() as Hex);
  return minted;
}

/** The mintId each call of a batch mints (mint(to, mintId, v, r, s): mintId is the second word). */
function mintIdsByCallIndex(raw: Hex): Map<Hex, number> {
  const { calls } = decodeBatchExecute(parseTransaction(raw).data!);
  const byMintId = new Map<Hex, number>();
  for (const [i, call] of calls.entries())
    if (call.data.length >= 10 + 128) byMintId.set(`0x${call.data.slice(74, 138)}`, i);
  return byMintId;
}

export async function settleBatchOutcome(
  ctx: CollectContext,
  outcome: MintOutcome,
  mints: BatchMint[],
): Promise<Settlement & { ranNoCode: boolean; reverted: boolean }> {
  const settlement: Settlement & { ranNoCode: boolean; reverted: boolean } = {
    confirmed: [],
    failed: [],
    reverts: [],
    ranNoCode: false,
    reverted: false,
  };
  const { task } = ctx;
  const viaOther = async (m: BatchMint) =>
    settlement.confirmed.push(
      await findMintTransaction(ctx, {
        ...m,
        nonce: outcome.mint.nonce,
        raw: outcome.mint.raw,
        hashes: outcome.mint.hashes,
      }),
    );
  if (outcome.kind !== 'receipt') {
    // "Used" can also mean the batch's own receipt was not readable yet when the collector looked
    // (a node still storing the block): look once more, so its mints are settled from it.
    for (const hash of outcome.mint.hashes) {
      const receipt = await ctx.client.getTransactionReceipt({ hash }).catch(() => undefined);
      if (receipt) return settleBatchOutcome(ctx, { kind: 'receipt', mint: outcome.mint, receipt }, mints);
    }
    // Replaced or dropped: whatever of it is on chain was mined by another transaction.
    for (const m of mints) {
      if (await isMintIdUsed(ctx, m.mintId)) await viaOther(m);
      else
        settlement.failed.push({
          sequenceNumber: m.sequenceNumber,
          error: `nonce ${outcome.mint.nonce} was used by another transaction; re-signing the same mint`,
        });
    }
    return settlement;
  }
  // The logs came with the receipt the collector read; a receipt read without them is read again.
  const receipt = outcome.receipt.logs
    ? outcome.receipt
    : await ctx.client.getTransactionReceipt({ hash: outcome.receipt.transactionHash });
  settlement.reverted = receipt.status === 'reverted';
  const logs = receipt.logs as RawLog[];
  const minted = mintedIdsOf(logs, task.tokenAddress);
  // Failures are rare: their events are decoded (and the batch's calls with them) only when there are any.
  const failing = logs.filter((l) => l.topics[0] === TRY_EXECUTE_FAIL);
  const failures = failing.length
    ? failedCallsOf(failing as unknown as Log[], task.agentAddress)
    : new Map<number, Hex>();
  const callIndex = failures.size ? mintIdsByCallIndex(outcome.mint.raw) : new Map<Hex, number>();
  // The batch's gas, shared by its mints (the approval riding in the first batch included).
  const share = receipt.gasUsed / BigInt(mints.length);
  for (const m of mints) {
    if (minted.has(m.mintId.toLowerCase() as Hex)) {
      settlement.confirmed.push({
        sequenceNumber: m.sequenceNumber,
        txHash: receipt.transactionHash,
        blockNumber: receipt.blockNumber,
        gasUsed: share,
        effectiveGasPrice: receipt.effectiveGasPrice,
      });
      continue;
    }
    if (await isMintIdUsed(ctx, m.mintId)) {
      await viaOther(m);
      continue;
    }
    const returnData = failures.get(callIndex.get(m.mintId) ?? -1);
    if (returnData !== undefined || receipt.status === 'reverted') {
      const revert =
        returnData !== undefined
          ? revertOfReturnData(returnData)
          : { reason: 'unknown' as const, message: 'The batch transaction reverted on chain.' };
      settlement.reverts.push(revert);
      settlement.failed.push({ sequenceNumber: m.sequenceNumber, error: revert.message });
      continue;
    }
    settlement.ranNoCode = true;
    settlement.failed.push({
      sequenceNumber: m.sequenceNumber,
      error: 'the batch transaction ran no code (agent not delegated to the batch executor); mint not counted',
    });
  }
  return settlement;
}
