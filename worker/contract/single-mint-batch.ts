import { type Hex, type TransactionSerializableEIP1559 } from 'viem';
import type { SignedMint } from '@/db/mint-records';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { keccak } from '@/lib/chain/native-crypto';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import { authorize } from './authorizations';
import type { BatchStages, Collected } from './batch-stages';
import type { PendingMint } from './mint-chain';
import { collectMints } from './mint-collector';
import { recentlySimulated, unlockSigner, type BatchPlan, type SignedBatch, type TaskRuntime } from './runtime';
import { settleOutcomes } from './settlement';

// One transaction per mint: a batch of N mints is N transactions with consecutive nonces, each
// calling the token's mint with its own authorization. (One EIP-7702 transaction for the whole
// batch: eip7702-batch.ts.)

/**
 * A batch of N mints is signed, written to the ledger, broadcast with N consecutive nonces
 * without waiting in between, and collected; one at a time when paced, overlapping when not
 * (batch-stages.ts, mint-pipeline.ts).
 */
export const singleMintStages: BatchStages<SignedBatch> = {
  sign: signBatch,
  broadcast: broadcastBatch,
  collect: collectBatch,
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
  const first = await authorize(rt, plan.sequences[0]!);
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
  for (const seq of plan.sequences.slice(1)) authorizations.push(await authorize(rt, seq));
  await simulating;

  const signer = rt.signer ?? (await unlockSigner(rt, plan.remainingCost));
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
  return { plan, mints, started, gasLimit: rt.gasPerMint * BigInt(mints.length) };
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

/** Collects the batch's receipts: what each mint's own says, or the chain about its mintId. */
async function collectBatch(rt: TaskRuntime, { mints }: SignedBatch): Promise<Collected> {
  // No 'sent' mark: the reconciler treats signed and sent rows alike, and the settle records
  // sent_at; the mark cost a statement per batch (bench:mint).
  const pending: PendingMint[] = mints.map((m) => ({
    sequenceNumber: m.sequenceNumber,
    mintId: m.mintId as Hex,
    nonce: m.nonce,
    raw: m.rawTransaction as Hex,
    hashes: [m.txHash as Hex],
  }));
  const settlement = await settleOutcomes(rt, await collectMints(rt, pending));
  if (settlement.reverts.length || settlement.failed.length) rt.simulatedAt = undefined; // the next batch simulates again
  return { settlement };
}
