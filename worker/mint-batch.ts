import { encodeFunctionData, erc20Abi, keccak256, type Address, type Hex, type TransactionSerializableEIP1559 } from 'viem';
import { markMintsSent, writeSignedMints, type SignedMint } from '@/db/mint-records';
import { recordMintProgress, type TaskProgress } from '@/db/task-queue';
import type { AgentWallet } from '@/db/schema';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import type { Fees } from '@/lib/chain/fees';
import { mintIdOf } from '@/lib/chain/mint-id';
import type { MintAuthorizer } from '@/lib/chain/mint-signature';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { createGuardedSigner } from '@/lib/wallets/tx-guard';
import { crashPoint } from './crash-points';
import { broadcastRaw, collectMints, type CollectContext, type PendingMint } from './mint-collector';
import { settleOutcomes } from './reconciler';

export type TaskRuntime = CollectContext & {
  task: CollectContext['task'] & { userAddress: Address; quantity: number };
  workerId: string;
  wallet: AgentWallet;
  usdc: Address;
  chainId: number;
  pricePerMint: bigint;
  authorizer: MintAuthorizer;
  /** Gas limit per mint from the last estimate; a first guess before any. */
  gasPerMint: bigint;
  /** Progress returned by the last batch's settle when it left nothing open. */
  settled?: TaskProgress;
  /** Mint authorizations signed ahead (they depend only on payer, user and mintId). */
  presigned?: Map<Hex, Authorization>;
};

type Authorization = Awaited<ReturnType<typeof signAuthorization>>;

/** The agent's guarded signer, unlocked just for this use (policy: the task's token and need). */
export function unlockSigner(rt: TaskRuntime, remainingCost: bigint) {
  return createGuardedSigner(unlockAgentAccount(rt.wallet), {
    agent: rt.task.agentAddress,
    user: rt.task.userAddress,
    usdc: rt.usdc,
    task: { token: rt.task.tokenAddress, remainingCost },
  });
}

/**
 * One batch: sign every mint, write them all to the ledger, then broadcast them with
 * consecutive nonces without waiting in between, collect the receipts, and settle ledger and
 * progress in one transaction. The first mint is simulated (estimateGas) before anything is
 * signed, so a paused or sold-out token costs one RPC call, not a batch of reverted transactions.
 */
export async function runMintBatch(
  rt: TaskRuntime,
  { sequences, fees, remainingCost, nonce }: { sequences: number[]; fees: Fees; remainingCost: bigint; nonce: number },
) {
  const started = Date.now();
  const { client, task } = rt;
  const first = await authorize(rt, mintIdOf(task.id, sequences[0]!));
  const estimating = client.estimateContractGas({
    account: task.agentAddress,
    address: task.tokenAddress,
    abi: paidMintTokenAbi,
    functionName: 'mint',
    args: first.args,
  });
  estimating.catch(() => {}); // awaited below; this only keeps Node from calling it unhandled meanwhile
  // The other authorizations are signed (CPU) while the simulation is on the wire.
  const authorizations = [first];
  for (const seq of sequences.slice(1)) authorizations.push(await authorize(rt, mintIdOf(task.id, seq)));
  const estimate = await estimating;
  // +25%: later mints in a batch cost the same or less than the first (no zero→non-zero balance write).
  rt.gasPerMint = (estimate * 125n) / 100n;

  const signer = unlockSigner(rt, remainingCost);
  const mints: SignedMint[] = [];
  for (const [i, seq] of sequences.entries()) {
    const tx: TransactionSerializableEIP1559 = {
      type: 'eip1559',
      chainId: rt.chainId,
      to: task.tokenAddress,
      data: encodeFunctionData({ abi: paidMintTokenAbi, functionName: 'mint', args: authorizations[i]!.args }),
      nonce: nonce + i,
      gas: rt.gasPerMint,
      value: 0n,
      ...fees,
    };
    const raw = await signer.signTransaction(tx);
    mints.push({ sequenceNumber: seq, mintId: authorizations[i]!.mintId, nonce: nonce + i, txHash: keccak256(raw), rawTransaction: raw, ...fees });
  }
  await writeSignedMints({ taskId: task.id, workerId: rt.workerId, mints });
  crashPoint('after-ledger-write');
  rt.reporter.batchStarted(task, { size: mints.length, sequences, nonce });

  const raws = mints.map((m) => m.rawTransaction as Hex);
  // One batched request for the whole batch; the crash test's mid-batch point splits it in two.
  const half = getConfig().worker.crashAt?.startsWith('mid-batch') ? Math.ceil(raws.length / 2) : raws.length;
  await broadcastRaw(client, raws.slice(0, half));
  crashPoint('mid-batch');
  if (half < raws.length) await broadcastRaw(client, raws.slice(half));
  crashPoint('after-broadcast');

  // 'sent' is informational (the reconciler treats signed and sent rows alike), so the mark
  // rides along with the receipt collection instead of costing the batch a round trip.
  const pending: PendingMint[] = mints.map((m) => ({ sequenceNumber: m.sequenceNumber, mintId: m.mintId as Hex, nonce: m.nonce, raw: m.rawTransaction as Hex, hashes: [m.txHash as Hex] }));
  const [outcomes] = await Promise.all([
    collectMints(rt, pending),
    markMintsSent({ taskId: task.id, txHashes: mints.map((m) => m.txHash) }),
    presignNext(rt, sequences),
  ]);
  const settlement = await settleOutcomes(rt, outcomes);
  const updated = await recordMintProgress({ taskId: task.id, confirmed: settlement.confirmed, failed: settlement.failed });
  if (updated) rt.task.mintsCompleted = updated.mintsCompleted;
  if (updated && settlement.confirmed.length === mints.length) rt.settled = updated;
  for (const c of settlement.confirmed) rt.reporter.minted(rt.task, c);
  for (const f of settlement.failed) rt.reporter.mintFailed(rt.task, f);
  rt.reporter.batchRecorded(rt.task, { confirmed: settlement.confirmed.length, failed: settlement.failed.length, durationMs: Date.now() - started });
  return settlement;
}

async function signAuthorization(rt: TaskRuntime, mintId: Hex) {
  const { v, r, s } = await rt.authorizer.sign({ payer: rt.task.agentAddress, to: rt.task.userAddress, mintId });
  return { mintId, args: [rt.task.userAddress, mintId, v, r, s] as const };
}

async function authorize(rt: TaskRuntime, mintId: Hex): Promise<Authorization> {
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
async function presignNext(rt: TaskRuntime, sequences: number[]) {
  const from = Math.max(...sequences) + 1;
  const to = Math.min(rt.task.quantity, from + sequences.length - 1);
  if (!rt.presigned || rt.presigned.size > 4 * sequences.length) rt.presigned = new Map();
  for (let seq = from; seq <= to; seq++) {
    const mintId = mintIdOf(rt.task.id, seq);
    if (!rt.presigned.has(mintId)) rt.presigned.set(mintId, await signAuthorization(rt, mintId));
  }
}

/**
 * Approves exactly what the remaining mints need, and only when the allowance is short: each
 * mint spends its price from the allowance, so one approval covers the whole task. The approval
 * is not in the ledger because it is idempotent (it sets, not adds): after a crash the worst
 * case is a second approval of the same amount.
 */
export async function ensureAllowance(rt: TaskRuntime, { need, allowance, fees, nonce }: { need: bigint; allowance: bigint; fees: Fees; nonce: number }): Promise<boolean> {
  if (allowance >= need) return false;
  const { client } = rt;
  rt.reporter.approving(rt.task, need);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [rt.task.tokenAddress, need] });
  const gas = await client.estimateGas({ account: rt.task.agentAddress, to: rt.usdc, data });
  const raw = await unlockSigner(rt, need).signTransaction({ type: 'eip1559', chainId: rt.chainId, to: rt.usdc, data, nonce, gas: (gas * 12n) / 10n, value: 0n, ...fees });
  await broadcastRaw(client, [raw]);
  const hash = keccak256(raw);
  const receipt = await waitForReceipt(client, hash, getConfig().worker.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`USDC approval ${hash} reverted`);
  rt.reporter.approved(rt.task, hash);
  return true;
}
