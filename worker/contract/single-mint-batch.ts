import { type Hex, type TransactionSerializableEIP1559 } from 'viem';
import { markMintsSent, type SignedMint } from '@/db/mint-records';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { mintIdOf } from '@/lib/chain/mint-id';
import { keccak } from '@/lib/chain/native-crypto';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import { authorize, presignNext } from './authorizations';
import { recordSettlement, writeBatch } from './ledger';
import type { PendingMint } from './mint-chain';
import { collectMints } from './mint-collector';
import type { PipelineStages } from './mint-pipeline';
import {
  recentlySimulated,
  unlockSigner,
  type BatchPlan,
  type SettledBatch,
  type SignedBatch,
  type TaskRuntime,
} from './runtime';
import { settleOutcomes, type Settlement } from './settlement';

// One transaction per mint: a batch of N mints is N transactions with consecutive nonces, each
// calling the token's mint with its own authorization. (One EIP-7702 transaction for the whole
// batch: eip7702-batch.ts.)

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

/** The stages the pipeline (mint-pipeline.ts) overlaps: a batch of N takes N consecutive nonces. */
export const singleMintStages: PipelineStages<SignedBatch> = {
  sign: signBatch,
  write: writeBatch,
  broadcast: broadcastBatch,
  settle: settleBatch,
  nextNonce: ({ plan }) => plan.nonce + plan.sequences.length,
};

/**
 * Signs a batch. The first mint is simulated before anything is written or sent, so a paused
 * or sold-out token costs one RPC call, not a batch of reverted transactions: the first time
 * in a task run with estimateGas (which sets the gas limit), after that with a single eth_call,
 * which costs the node one execution instead of estimateGas's binary search.
 * Paced batches (MINT_INTERVAL_MS > 0) are each simulated. Unpaced ones follow each other
 * within milliseconds and share one simulation per second (SIMULATION_VALID_MS, runtime.ts): a token paused or sold out within
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
  const simulating = recentlySimulated(rt, started)
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
  return recordSettlement(rt, settlement, { size: mints.length, started });
}
