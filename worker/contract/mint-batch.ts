import {
  encodeFunctionData,
  erc20Abi,
  keccak256,
  type Address,
  type Hex,
  type TransactionSerializableEIP1559,
} from 'viem';
import { markMintsSent, writeSignedMints, type SignedMint } from '@/db/mint-records';
import { recordMintProgress, type TaskProgress } from '@/db/task-queue';
import type { AgentWallet } from '@/db/schema';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import type { Fees } from '@/lib/chain/fees';
import { MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { mintIdOf } from '@/lib/chain/mint-id';
import { encodeMintCall, type MintAuthorizer } from '@/lib/chain/mint-signature';
import { waitForReceipt } from '@/lib/chain/receipts';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { createGuardedSigner } from '@/lib/wallets/tx-guard';
import { crashPoint } from '../crash-points';
import { keccak, nativeAccount } from '@/lib/chain/native-crypto';
import { assertLease } from '../fence';
import { broadcastRaw, collectMints, type CollectContext, type PendingMint } from './mint-collector';
import { settleOutcomes, type Settlement } from './reconciler';

export type TaskRuntime = CollectContext & {
  task: CollectContext['task'] & { userAddress: Address; quantity: number };
  workerId: string;
  walletId: string;
  wallet: AgentWallet;
  usdc: Address;
  chainId: number;
  pricePerMint: bigint;
  authorizer: MintAuthorizer;
  /** Gas limit per mint from the task run's estimate; a first guess before it. */
  gasPerMint: bigint;
  gasEstimated?: boolean;
  /** When the last batch's first mint was simulated successfully (ms). */
  simulatedAt?: number;
  /** Progress returned by the last batch's settle when it left nothing open. */
  settled?: TaskProgress;
  /** Mint authorizations signed ahead (they depend only on payer, user and mintId). */
  presigned?: Map<Hex, Authorization>;
  /** One EIP-7702 transaction per batch (batch-tx.ts), or one transaction per mint. */
  execution?: 'batch' | 'single';
  batchExecutor?: Address;
  /** The agent's code is a delegation to batchExecutor (read from the chain each turn). */
  delegated?: boolean;
  /** Gas limit of a batch transaction: base + perMint × mints, from the task run's first estimates. */
  batchGas?: { base: bigint; perMint: bigint };
};

export type Authorization = Awaited<ReturnType<typeof signAuthorization>>;

/** The agent's guarded signer, unlocked just for this use (policy: the task's token and need). */
export function unlockSigner(rt: TaskRuntime, remainingCost: bigint) {
  return createGuardedSigner(unlockAgentAccount(rt.wallet, nativeAccount), {
    agent: rt.task.agentAddress,
    user: rt.task.userAddress,
    usdc: rt.usdc,
    chainId: rt.chainId,
    task: { token: rt.task.tokenAddress, remainingCost },
    batchExecutor: rt.batchExecutor,
  });
}

export type BatchPlan = { sequences: number[]; fees: Fees; nonce: number; remainingCost: bigint };
export type SignedBatch = { plan: BatchPlan; mints: SignedMint[]; started: number };
export type SettledBatch = { settlement: Settlement; progress?: TaskProgress };

/**
 * One batch, start to end: sign every mint, write them all to the ledger, broadcast them with
 * consecutive nonces without waiting in between, collect the receipts, and settle ledger and
 * progress in one transaction. While the receipts are on the wire the next batch's mint
 * authorizations are signed. (With MINT_INTERVAL_MS=0 the same stages overlap across batches:
 * mint-pipeline.ts.)
 */
export async function runMintBatch(rt: TaskRuntime, plan: BatchPlan): Promise<Settlement> {
  const batch = await signBatch(rt, plan);
  await writeBatch(rt, batch);
  await broadcastBatch(rt, batch);
  const [{ settlement }] = await Promise.all([settleBatch(rt, batch), presignNext(rt, plan.sequences)]);
  return settlement;
}

/** Batches signed within this long of the last simulation skip their own (see signBatch). */
const SIMULATION_VALID_MS = 1_000;

/**
 * Signs a batch. The first mint is simulated before anything is written or sent, so a paused
 * or sold-out token costs one RPC call, not a batch of reverted transactions: the first time
 * in a task run with estimateGas (which sets the gas limit), after that with a single eth_call,
 * which costs the node one execution instead of estimateGas's binary search.
 * Paced batches (MINT_INTERVAL_MS > 0) are each simulated. Unpaced ones follow each other
 * within milliseconds and share one simulation per second: a token paused or sold out within
 * that second costs those batches their gas, and the first revert ends the run as a failed
 * simulation would (the run after it simulates again).
 */
export async function signBatch(rt: TaskRuntime, plan: BatchPlan): Promise<SignedBatch> {
  const started = Date.now();
  const { client, task } = rt;
  const first = await authorize(rt, mintIdOf(task.id, plan.sequences[0]!, keccak));
  const call = {
    account: task.agentAddress,
    address: task.tokenAddress,
    abi: paidMintTokenAbi,
    functionName: 'mint',
    args: first.args,
  } as const;
  const unpaced = getConfig().worker.mintIntervalMs === 0;
  const recent = unpaced && rt.simulatedAt !== undefined && started - rt.simulatedAt < SIMULATION_VALID_MS;
  const simulating = recent
    ? Promise.resolve()
    : rt.gasEstimated
      ? client.simulateContract(call).then(() => void (rt.simulatedAt = started))
      : client
          .estimateContractGas(call)
          .catch(overGasCap)
          .then((estimate) => {
            // The operator pays this gas: a token whose mint needs more than MAX_MINT_GAS is not
            // the PaidMintToken it claims to be, and the task fails before a mint is sent.
            if (estimate > MAX_MINT_GAS) {
              throw new MintRevertError(
                'gas_cap',
                `The token's mint needs ${estimate} gas, more than the ${MAX_MINT_GAS} AgentMint pays for one mint; no mint was sent.`,
              );
            }
            // +25%: later mints cost the same or less than the first (no zero→non-zero balance write); never above the cap.
            const limit = (estimate * 125n) / 100n;
            rt.gasPerMint = limit < MAX_MINT_GAS ? limit : MAX_MINT_GAS;
            rt.gasEstimated = true;
            rt.simulatedAt = started;
          });
  simulating.catch(() => {}); // awaited below; this only keeps Node from calling it unhandled meanwhile
  // The other authorizations are signed (CPU) while the simulation is on the wire.
  const authorizations = [first];
  for (const seq of plan.sequences.slice(1)) authorizations.push(await authorize(rt, mintIdOf(task.id, seq, keccak)));
  await simulating;

  const signer = unlockSigner(rt, plan.remainingCost);
  const mints: SignedMint[] = [];
  for (const [i, seq] of plan.sequences.entries()) {
    const nonce = plan.nonce + i;
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559',
      chainId: rt.chainId,
      to: task.tokenAddress,
      data: authorizations[i]!.data,
      nonce,
      gas: rt.gasPerMint,
      value: 0n,
      ...plan.fees,
    };
    const raw = await signer.signTransaction(tx);
    mints.push({
      sequenceNumber: seq,
      mintId: authorizations[i]!.mintId,
      nonce,
      txHash: keccak(raw),
      rawTransaction: raw,
      ...plan.fees,
    });
  }
  return { plan, mints, started };
}

/** An estimate that ran out of gas (a node caps it at the block gas limit) is over the cap too. */
function overGasCap(error: unknown): never {
  if (
    /gas required exceeds allowance|out of gas/i.test(
      error instanceof Error
        ? `${error.message} ${String((error as { details?: unknown }).details ?? '')}`
        : String(error),
    )
  ) {
    throw new MintRevertError(
      'gas_cap',
      `The token's mint needs more gas than a block holds, far more than the ${MAX_MINT_GAS} AgentMint pays for one mint; no mint was sent.`,
    );
  }
  throw error;
}

/** The ledger first: every mint is in it, signed transaction and all, before any is broadcast. */
export async function writeBatch(rt: TaskRuntime, { plan, mints }: SignedBatch) {
  await writeSignedMints({ taskId: rt.task.id, workerId: rt.workerId, mints });
  crashPoint('after-ledger-write');
  rt.reporter.batchStarted(rt.task, { size: mints.length, sequences: plan.sequences, nonce: plan.nonce });
}

export async function broadcastBatch(rt: TaskRuntime, { mints }: SignedBatch) {
  const raws = mints.map((m) => m.rawTransaction as Hex);
  // One batched request for the whole batch; the crash test's mid-batch point splits it in two.
  const half = getConfig().worker.crashAt?.startsWith('mid-batch') ? Math.ceil(raws.length / 2) : raws.length;
  await assertLease(rt);
  await broadcastRaw(rt.client, raws.slice(0, half));
  crashPoint('mid-batch');
  if (half < raws.length) {
    await assertLease(rt);
    await broadcastRaw(rt.client, raws.slice(half));
  }
  crashPoint('after-broadcast');
}

/** Collects the batch's receipts and settles its ledger rows and the task's progress in one transaction. */
export async function settleBatch(rt: TaskRuntime, { mints, started }: SignedBatch): Promise<SettledBatch> {
  // 'sent' is informational (the reconciler treats signed and sent rows alike), so the mark
  // rides along with the receipt collection instead of costing the batch a round trip.
  const pending: PendingMint[] = mints.map((m) => ({
    sequenceNumber: m.sequenceNumber,
    mintId: m.mintId as Hex,
    nonce: m.nonce,
    raw: m.rawTransaction as Hex,
    hashes: [m.txHash as Hex],
  }));
  const [outcomes] = await Promise.all([
    collectMints(rt, pending),
    markMintsSent({ taskId: rt.task.id, txHashes: mints.map((m) => m.txHash) }),
  ]);
  const settlement = await settleOutcomes(rt, outcomes);
  if (settlement.reverts.length || settlement.failed.length) rt.simulatedAt = undefined; // the next batch simulates again
  const progress = await recordMintProgress({
    taskId: rt.task.id,
    confirmed: settlement.confirmed,
    failed: settlement.failed,
  });
  if (progress) rt.task.mintsCompleted = progress.mintsCompleted;
  rt.settled = progress && settlement.confirmed.length === mints.length ? progress : undefined;
  for (const c of settlement.confirmed) rt.reporter.minted(rt.task, c);
  for (const f of settlement.failed) rt.reporter.mintFailed(rt.task, f);
  rt.reporter.batchRecorded(rt.task, {
    confirmed: settlement.confirmed.length,
    failed: settlement.failed.length,
    durationMs: Date.now() - started,
  });
  return { settlement, progress };
}

async function signAuthorization(rt: TaskRuntime, mintId: Hex) {
  const signature = await rt.authorizer.sign({ payer: rt.task.agentAddress, to: rt.task.userAddress, mintId });
  const { v, r, s } = signature;
  return {
    mintId,
    args: [rt.task.userAddress, mintId, v, r, s] as const,
    data: encodeMintCall(rt.task.userAddress, mintId, signature),
  };
}

export async function authorize(rt: TaskRuntime, mintId: Hex): Promise<Authorization> {
  const ready = rt.presigned?.get(mintId);
  rt.presigned?.delete(mintId);
  return ready ?? signAuthorization(rt, mintId);
}

/**
 * Signs the next batch's mint authorizations while this batch's receipts and ledger update are
 * on the wire: the CPU is otherwise idle then, and these signatures were ~30% of a batch's time
 * on anvil. A guess that turns out wrong (a mint failed and is re-signed first) costs nothing:
 * an authorization stays valid for its mintId whenever it is used.
 */
export async function presignNext(rt: TaskRuntime, sequences: number[]) {
  const from = Math.max(...sequences) + 1;
  const to = Math.min(rt.task.quantity, from + sequences.length - 1);
  await presign(
    rt,
    Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i),
  );
}

/** Signs these mints' authorizations ahead, for signBatch to pick up (the executor does this while a top-up or approval is mined). */
export async function presign(rt: TaskRuntime, sequences: number[]) {
  if (!rt.presigned || rt.presigned.size > 4 * sequences.length) rt.presigned = new Map();
  for (const seq of sequences) {
    const mintId = mintIdOf(rt.task.id, seq, keccak);
    if (!rt.presigned.has(mintId)) rt.presigned.set(mintId, await signAuthorization(rt, mintId));
  }
}

/**
 * Approves exactly what the remaining mints need, and only when the allowance is short: each
 * mint spends its price from the allowance, so one approval covers the whole task. The approval
 * is not in the ledger because it is idempotent (it sets, not adds): after a crash the worst
 * case is a second approval of the same amount.
 */
export async function ensureAllowance(
  rt: TaskRuntime,
  { need, allowance, fees, nonce }: { need: bigint; allowance: bigint; fees: Fees; nonce: number },
): Promise<boolean> {
  if (allowance >= need) return false;
  const { client } = rt;
  rt.reporter.approving(rt.task, need);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [rt.task.tokenAddress, need] });
  const gas = await client.estimateGas({ account: rt.task.agentAddress, to: rt.usdc, data });
  const raw = await unlockSigner(rt, need).signTransaction({
    type: 'eip1559',
    chainId: rt.chainId,
    to: rt.usdc,
    data,
    nonce,
    gas: (gas * 12n) / 10n,
    value: 0n,
    ...fees,
  });
  await assertLease(rt);
  await broadcastRaw(client, [raw]);
  const hash = keccak256(raw);
  const receipt = await waitForReceipt(client, hash, getConfig().worker.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`USDC approval ${hash} reverted`);
  rt.reporter.approved(rt.task, hash);
  return true;
}
