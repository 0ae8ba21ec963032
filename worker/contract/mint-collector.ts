import {
  hexToBigInt,
  keccak256,
  parseTransaction,
  type TransactionSerializable,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { replaceBatchTransaction, replaceMintTransaction } from '@/db/mint-records';
import { bumpFees, gweiToWei } from '@/lib/chain/fees';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { classifyChainError, TransientChainError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import type { Reporter, TaskRef } from '../reporter';
import { rawRequest } from '../rpc';
import { sleep } from '../sleep';
import { assertLease } from '../fence';

// Waits for a set of sent (or maybe-sent) mints to settle, the way a transaction engine does.
// For a mint without a receipt it reads the account nonce, THEN the receipt again, then
// usedMintIds. The order matters: a nonce that had moved past a mint before we looked means
// that mint's fate was already on chain when we read its receipt, so "no receipt, mintId
// unused" is final (replaced or dropped) and the same mintId may be re-signed.

const REBROADCAST_AFTER_MS = 1_000;
const STILL_CHAIN_MS = 3_000;
const QUEUED_REPLACE_MS = 500;
const STUCK_MIN_MS = 1_000;

export type PendingMint = {
  sequenceNumber: number;
  mintId: Hex;
  nonce: number;
  raw: Hex;
  hashes: Hex[];
  /** An EIP-7702 batch transaction standing for several mints (its first mint's sequence and mintId here). */
  batch?: boolean;
  sentBlock?: bigint;
  sentAt?: number;
  droppedOnce?: boolean;
  queuedSince?: number;
};

/** A log as the node sends it (hex fields, unformatted). */
export type RawLog = { address: Address; topics: Hex[]; data: Hex };

/** What settling a mint reads from its receipt; a batch's logs too (its mints are settled from them). */
export type MintReceipt = Pick<
  TransactionReceipt,
  'status' | 'blockNumber' | 'gasUsed' | 'effectiveGasPrice' | 'transactionHash'
> & { logs?: RawLog[] };

export type MintOutcome =
  | { kind: 'receipt'; mint: PendingMint; receipt: MintReceipt }
  | { kind: 'used'; mint: PendingMint }
  | { kind: 'dropped'; mint: PendingMint };

export type CollectContext = {
  client: PublicClient;
  task: TaskRef & { agentAddress: Address; tokenAddress: Address };
  reporter: Reporter;
  /** The worker holding the task's lease (checked before every send: fence.ts). */
  workerId: string;
  /** Signs a replacement transaction (the caller unlocks the agent key only for this). */
  resign: (tx: TransactionSerializable) => Promise<Hex>;
  signal?: AbortSignal;
};

/**
 * Sends signed transactions in one batched request (viem's sendRawTransaction, which the
 * transport batches); "already known" and "nonce too low" mean maybe-sent.
 */
export async function broadcastRaw(client: PublicClient, raws: Hex[]) {
  const send = (raw: Hex) => client.sendRawTransaction({ serializedTransaction: raw });
  const results = await Promise.allSettled(raws.map(send));
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    const kind = classifyChainError(result.reason);
    if (kind.kind === 'transient' && (kind.reason === 'already_known' || kind.reason === 'nonce')) continue;
    throw result.reason;
  }
}

/** Collecting ran out of time: `outcomes` holds what was learned for the other mints (settle it, do not drop it). */
export class ReceiptTimeoutError extends TransientChainError {
  constructor(
    message: string,
    readonly outcomes: MintOutcome[],
  ) {
    super('timeout', message);
  }
}

export async function collectMints(
  ctx: CollectContext,
  mints: PendingMint[],
  { rebroadcast = false } = {},
): Promise<MintOutcome[]> {
  const config = getConfig().worker;
  const { client, task } = ctx;
  const outcomes: MintOutcome[] = [];
  let pending = [...mints];
  const deadline = Date.now() + config.receiptTimeoutMs;
  let lastSent = Date.now();
  let lastBlock: bigint | undefined;
  let lastBlockAt = Date.now();
  let nonceSeen: number | undefined;
  let nonceMovedAt: bigint | undefined;
  let nonceMovedAtMs = Date.now();
  const receiptsOf = (list: PendingMint[]) =>
    Promise.all(list.map((m) => Promise.all(m.hashes.map((hash) => receiptOrNull(client, hash, m.batch)))));
  for (let round = 0; pending.length > 0; round++) {
    // Receipts first: in the usual case they are all there and the round costs one request.
    const first = await receiptsOf(pending);
    const missing: PendingMint[] = [];
    for (const [i, mint] of pending.entries()) {
      const receipt = first[i]!.find((r) => r !== null);
      if (receipt) outcomes.push({ kind: 'receipt', mint, receipt });
      else missing.push(mint);
    }
    if (missing.length === 0) break;
    // For the rest: the account's nonce as of the latest block, then their receipts again, so
    // "no receipt although the nonce moved on" is a fact about the chain and not a race with
    // the next block. The nonce is read at that block's number, not at 'latest': anvil answers
    // 'latest' from the state of a block it is still storing, whose receipts are not yet
    // readable, and a mint mined there looked dropped (and was re-signed, and reverted).
    const block = await client.getBlockNumber({ cacheTime: 0 });
    const [latestNonce, pendingNonce] = await Promise.all([
      client.getTransactionCount({ address: task.agentAddress, blockNumber: block }),
      client.getTransactionCount({ address: task.agentAddress, blockTag: 'pending' }),
    ]);
    const passed = missing.filter((m) => latestNonce > m.nonce);
    const again = await receiptsOf(passed);
    const unresolved = missing.filter((m) => latestNonce <= m.nonce);
    for (const [i, mint] of passed.entries()) {
      const receipt = again[i]!.find((r) => r !== null);
      if (receipt) outcomes.push({ kind: 'receipt', mint, receipt });
      else if (await isMintIdUsed(ctx, mint.mintId)) outcomes.push({ kind: 'used', mint });
      // "Dropped" sends the mintId to be signed again, so it must hold on a second look, one
      // poll later: a node can answer for a block whose receipts it has not finished storing.
      else if (mint.droppedOnce) outcomes.push({ kind: 'dropped', mint });
      else ((mint.droppedOnce = true), unresolved.push(mint));
    }
    pending = unresolved;
    if (pending.length === 0) break;
    // Sent again (identical bytes; "already known" is fine) on the reconciler's first look, and
    // whenever they have waited a second more without a receipt: a node that lost or never
    // took a transaction gets it back, and one that holds it does nothing.
    if (round === 0 && rebroadcast) {
      await assertLease(ctx);
      await broadcastRaw(
        client,
        pending.map((m) => m.raw),
      );
    } else if (Date.now() - lastSent > REBROADCAST_AFTER_MS) {
      await assertLease(ctx);
      await broadcastRaw(
        client,
        pending.filter((m) => !m.droppedOnce).map((m) => m.raw),
      ).catch((error) => ctx.reporter.error(ctx.task, error, 'rebroadcast not accepted'));
      lastSent = Date.now();
    }
    // Stuck means STUCK_AFTER_BLOCKS blocks without the account's nonce moving. Blocks alone
    // are not enough: a node that mines one transaction per block (anvil) works through a
    // batch over as many blocks, and the tail of a healthy batch would look stuck.
    // A chain that mines only when a transaction arrives (anvil's automine) can also leave one
    // pending with no block coming at all; after STILL_CHAIN_MS without a block, each waiting
    // mint is replaced once (a new arrival, so such a node mines). A live chain never gets here.
    if (nonceSeen === undefined || latestNonce > nonceSeen)
      [nonceSeen, nonceMovedAt, nonceMovedAtMs] = [latestNonce, block, Date.now()];
    if (lastBlock === undefined || block > lastBlock) [lastBlock, lastBlockAt] = [block, Date.now()];
    // And a node can hold the very next mint without counting it pending: anvil's pool leaves a
    // ready transaction "queued" now and then when several senders send at once (foundry issue
    // 10122), until something new arrives from that sender. Seen so for QUEUED_REPLACE_MS, it is
    // replaced once, instead of after STUCK_AFTER_BLOCKS other blocks or STILL_CHAIN_MS.
    const still = Date.now() - lastBlockAt > STILL_CHAIN_MS;
    for (const mint of pending) {
      if (mint.droppedOnce) continue; // its nonce is used; nothing to replace
      mint.sentBlock ??= block;
      mint.sentAt ??= Date.now();
      const waitingSince = mint.sentBlock > nonceMovedAt! ? mint.sentBlock : nonceMovedAt!;
      // Blocks and time both: where blocks come on arrival (anvil), many tasks' own sends and
      // replacements make blocks by the dozen per second, and blocks alone once set off a storm
      // of replacements (1,070 for 400 mints of 20 tasks), each one more block for the others.
      const waitedMs = Date.now() - Math.max(mint.sentAt, nonceMovedAtMs);
      const stuck = block - waitingSince >= BigInt(config.stuckAfterBlocks) && waitedMs >= STUCK_MIN_MS;
      const queuedHead = mint.nonce === latestNonce && pendingNonce <= latestNonce;
      mint.queuedSince = queuedHead ? (mint.queuedSince ?? Date.now()) : undefined;
      const queued = queuedHead && Date.now() - mint.queuedSince! >= QUEUED_REPLACE_MS;
      if (stuck || ((still || queued) && mint.hashes.length === 1)) await replaceStuck(ctx, mint, block);
    }
    if (Date.now() > deadline) {
      throw new ReceiptTimeoutError(
        `${pending.length} mint(s) not mined within RECEIPT_TIMEOUT_MS (${config.receiptTimeoutMs} ms)`,
        outcomes,
      );
    }
    // Receipts usually exist a moment after the send (anvil mines in ~1 ms; Base in ≤ 2 s), so
    // poll at 2, 4, 8, 16 ms first, then at the client's interval: on anvil this took a
    // 10-mint batch from ~60 ms to ~15 ms, and costs Base four extra cheap calls per batch.
    await sleep(Math.min(client.pollingInterval, 2 * 2 ** round), ctx.signal);
  }
  return outcomes;
}

type RpcReceipt = {
  status: Hex;
  blockNumber: Hex;
  gasUsed: Hex;
  effectiveGasPrice: Hex;
  transactionHash: Hex;
  logs?: RawLog[];
} | null;

/**
 * The receipt's five fields settling needs (and a batch's logs, as sent), or null while there is
 * none. A plain request: the getTransactionReceipt action formats every field and log of every
 * receipt, and a batch polls its receipts at least once each.
 */
async function receiptOrNull(client: PublicClient, hash: Hex, withLogs = false): Promise<MintReceipt | null> {
  const raw = await rawRequest<RpcReceipt>(client, 'eth_getTransactionReceipt', [hash]);
  if (!raw?.blockNumber) return null;
  return {
    logs: withLogs ? (raw.logs ?? []) : undefined,
    status: raw.status === '0x1' ? 'success' : 'reverted',
    blockNumber: hexToBigInt(raw.blockNumber),
    gasUsed: hexToBigInt(raw.gasUsed),
    effectiveGasPrice: hexToBigInt(raw.effectiveGasPrice ?? '0x0'), // absent on some older nodes
    transactionHash: raw.transactionHash,
  };
}

export function isMintIdUsed(ctx: Pick<CollectContext, 'client' | 'task'>, mintId: Hex) {
  return ctx.client.readContract({
    address: ctx.task.tokenAddress,
    abi: paidMintTokenAbi,
    functionName: 'usedMintIds',
    args: [mintId],
  });
}

/** Same nonce, same mintId, fees +12.5% (capped): whichever of the two is mined settles the mint. */
async function replaceStuck(ctx: CollectContext, mint: PendingMint, block: bigint) {
  const config = getConfig().worker;
  const tx = parseTransaction(mint.raw);
  if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) return;
  const base = (await ctx.client.getBlock({ blockTag: 'latest' })).baseFeePerGas ?? 0n;
  const fees = bumpFees(
    { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas },
    { capWei: gweiToWei(config.maxFeeGwei), baseFee: base },
  );
  if (!fees) return;
  // Rebuilt field by field: the parsed transaction still carries the old signature (r, s,
  // yParity), and signing over that would recover to a stranger with no funds.
  // A batch that installs the delegation keeps its authorization: it is signed for the nonce
  // after this one, which the replacement still has.
  await assertLease(ctx);
  const fields = {
    chainId: tx.chainId,
    nonce: tx.nonce,
    to: tx.to,
    data: tx.data,
    gas: tx.gas,
    value: tx.value ?? 0n,
    ...fees,
  };
  const raw = await ctx.resign(
    tx.type === 'eip7702'
      ? { ...fields, type: 'eip7702', authorizationList: tx.authorizationList }
      : { ...fields, type: 'eip1559' },
  );
  const hash = keccak256(raw);
  const stored = mint.batch
    ? await replaceBatchTransaction({
        taskId: ctx.task.id,
        previousTxHash: mint.hashes.at(-1)!,
        txHash: hash,
        rawTransaction: raw,
        ...fees,
      })
    : await replaceMintTransaction({
        taskId: ctx.task.id,
        sequenceNumber: mint.sequenceNumber,
        txHash: hash,
        rawTransaction: raw,
        ...fees,
      });
  if (!stored) return;
  mint.raw = raw;
  mint.hashes.push(hash);
  mint.sentBlock = block;
  mint.sentAt = Date.now();
  await broadcastRaw(ctx.client, [raw]).catch((error) =>
    ctx.reporter.error(ctx.task, error, `replacement of mint ${mint.sequenceNumber} not accepted`),
  );
  ctx.reporter.replaced(ctx.task, {
    sequenceNumber: mint.sequenceNumber,
    txHash: hash,
    maxFeePerGas: fees.maxFeePerGas,
  });
}
