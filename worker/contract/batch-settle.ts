import { isAddressEqual, parseTransaction, toEventSelector, type Address, type Hex, type Log } from 'viem';
import type { OpenMintRecord } from '@/db/mint-records';
import { recordMintProgress } from '@/db/task-queue';
import { decodeBatchExecute, failedCallsOf } from '@/lib/chain/batch-calls';
import { agentBatchExecutorAbi, paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { revertOfReturnData } from '@/lib/chain/revert-reasons';
import {
  collectMints,
  isMintIdUsed,
  type CollectContext,
  type MintOutcome,
  type PendingMint,
  type RawLog,
} from './mint-collector';
import { findMintTransaction, reconcileTask, type Settlement } from './reconciler';

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
): Promise<Settlement & { ranNoCode: boolean }> {
  const settlement: Settlement & { ranNoCode: boolean } = { confirmed: [], failed: [], reverts: [], ranNoCode: false };
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
  if (batches.length === 0) return reconcileTask(ctx, single);
  const settlement: Settlement = { confirmed: [], failed: [], reverts: [] };
  let ranNoCode = false;
  if (single.length) {
    const singles = await reconcileTask(ctx, single);
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
