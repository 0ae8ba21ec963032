import {
  hexToBigInt,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type TransactionSerializable,
} from 'viem';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import type { Reporter, TaskRef } from '../reporter';
import { rawRequest } from '../rpc';

// A contract mint once it is sent: what the worker keeps about it while it waits, and what the
// chain says about it (its receipt, whether its mintId is used). Shared by the collector, the
// reconciler and the settling of both ways of executing.

/** A sent (or maybe-sent) mint the collector waits for: the transaction(s) that may mine it. */
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

/** What waiting for, replacing and settling a task's mints needs (TaskRuntime has it all). */
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
export async function receiptOrNull(client: PublicClient, hash: Hex, withLogs = false): Promise<MintReceipt | null> {
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

/** Whether the token has minted this mintId, by whichever transaction: the one fact that settles a mint. */
export function isMintIdUsed(ctx: Pick<CollectContext, 'client' | 'task'>, mintId: Hex) {
  return ctx.client.readContract({
    address: ctx.task.tokenAddress,
    abi: paidMintTokenAbi,
    functionName: 'usedMintIds',
    args: [mintId],
  });
}
