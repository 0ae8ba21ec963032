import { encodeFunctionData, erc20Abi, type Hex } from 'viem';
import { BATCH_MODE, delegationCode, encodeBatchExecute, isDelegatedTo, type BatchCall } from '@/lib/chain/batch-calls';
import { keccak } from '@/lib/chain/native-crypto';
import { classifyChainError, MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import { authorize } from './authorizations';
import type { BatchStages, Collected } from './batch-stages';
import { NotDelegatedError, settleBatchOutcome } from './eip7702-settle';
import { estimateBatchGas } from './eip7702-gas';
import type { PendingMint } from './mint-chain';
import { collectMints } from './mint-collector';
import {
  delegatedBatchGas,
  recentlySimulated,
  unlockSigner,
  type Authorization,
  type BatchPlan,
  type SignedBatch,
  type TaskRuntime,
} from './runtime';

// One batch = one transaction (EIP-7702): the agent sends `execute(try mode, [approve?, mint × N])`
// to its own address, where AgentBatchExecutor's code runs with msg.sender = the agent for every
// call. The first batch of an undelegated agent carries the delegation itself (an authorization
// signed for the nonce after the transaction's: "executor self", the transaction uses two nonces).

export type DelegatedPlan = BatchPlan & {
  /** The approval joined into this batch (the amount), when the allowance is short. */
  approve?: bigint;
  /** This batch carries the delegation (the agent's code is not ours yet, and no batch sent before it installs it). */
  installs?: boolean;
};
export type SignedDelegatedBatch = SignedBatch & { plan: DelegatedPlan; raw: Hex; txHash: Hex; installs: boolean };

const faultsDone = new Set<string>();
/** WORKER_TEST_FAULT, at most once per process: the failures the batch tests need to provoke. */
function fault(name: 'bad-authorization' | `bad-mint-signature:${number}`) {
  if (getConfig().worker.testFault !== name || faultsDone.has(name)) return false;
  faultsDone.add(name);
  return true;
}

/** One EIP-7702 transaction per batch: it takes one nonce, two when it installs the delegation. */
export const delegatedBatchStages: BatchStages<SignedDelegatedBatch> = {
  sign: signDelegatedBatch,
  broadcast: broadcastDelegatedBatch,
  collect: collectDelegatedBatch,
  nextNonce: ({ plan, installs }) => plan.nonce + (installs ? 2 : 1),
  // A skipped authorization does not take its nonce (the silent EIP-7702 failure), so the batch
  // after one that installs the delegation is signed once the chain shows how it went.
  settlesAlone: ({ installs }) => installs,
};

async function broadcastDelegatedBatch(rt: TaskRuntime, batch: SignedDelegatedBatch) {
  await assertLease(rt);
  await broadcastRaw(rt.client, [batch.raw]);
  // One transaction: "half the batch sent" is the same state as "all of it sent".
  crashPoint('mid-batch');
  crashPoint('after-broadcast');
}

/**
 * Signs the batch. As on the single path the first mint is simulated before anything is
 * written (with the approval ahead of it, in revert-all mode, against the delegated code even
 * before the delegation exists: a state override), so a paused or sold-out token costs one
 * eth_call. The gas limit comes from one estimate of the whole batch per task run.
 */
async function signDelegatedBatch(rt: TaskRuntime, plan: DelegatedPlan): Promise<SignedDelegatedBatch> {
  const started = Date.now();
  const { client, task } = rt;
  const executor = rt.batchExecutor!;
  const authorizations: Authorization[] = [];
  for (const seq of plan.sequences) authorizations.push(await authorize(rt, seq));
  const approval: BatchCall[] =
    plan.approve === undefined
      ? []
      : [
          {
            to: rt.usdc,
            data: encodeFunctionData({
              abi: erc20Abi,
              functionName: 'approve',
              args: [task.tokenAddress, plan.approve],
            }),
          },
        ];
  const mintCalls: BatchCall[] = authorizations.map((a, i) => ({
    to: task.tokenAddress,
    data: fault(`bad-mint-signature:${plan.sequences[i]!}`) ? corruptSignature(a.data) : a.data,
  }));
  const data = encodeBatchExecute([...approval, ...mintCalls], BATCH_MODE.try);
  const installs = plan.installs ?? false;
  // Simulated against our executor's code when the chain does not show it yet (a state override):
  // before this batch installs it, or while the batch that does is still on the wire.
  const asDelegated = rt.delegated ? undefined : [{ address: task.agentAddress, code: delegationCode(executor) }];
  try {
    await Promise.all([
      recentlySimulated(rt, started)
        ? undefined
        : client
            .call({
              account: task.agentAddress,
              to: task.agentAddress,
              data: encodeBatchExecute([...approval, mintCalls[0]!], BATCH_MODE.revertAll),
              stateOverride: asDelegated,
            })
            .then(() => void (rt.simulatedAt = started)),
      rt.batchGas ? undefined : estimateBatchGas(rt, approval, mintCalls, asDelegated),
    ]);
  } catch (error) {
    const kind = classifyChainError(error);
    if (kind.kind === 'revert') throw new MintRevertError(kind.reason, kind.message);
    throw error;
  }

  const signer = rt.signer ?? (await unlockSigner(rt, plan.remainingCost));
  // The transaction's own fixed cost (base) plus per mint × size: a task's last, smaller batch has its fixed cost too.
  // The same figure the executor's gas check sized the agent's ETH by.
  const gas = delegatedBatchGas(rt, plan.sequences.length, 1, installs);
  const tx = { chainId: rt.chainId, nonce: plan.nonce, to: task.agentAddress, data, gas, value: 0n, ...plan.fees };
  let raw: Hex;
  if (installs) {
    // executor "self": the transaction takes nonce n, its authorization n + 1 (the test fault signs n: skipped on chain).
    const authorization = await signer.signAuthorization({
      address: executor,
      chainId: rt.chainId,
      nonce: plan.nonce + (fault('bad-authorization') ? 0 : 1),
    });
    raw = await signer.signTransaction({ ...tx, type: 'eip7702', authorizationList: [authorization] });
  } else {
    raw = await signer.signTransaction({ ...tx, type: 'eip1559' });
  }
  const txHash = keccak(raw);
  const mints = plan.sequences.map((seq, i) => ({
    sequenceNumber: seq,
    mintId: authorizations[i]!.mintId,
    nonce: plan.nonce,
    txHash,
    rawTransaction: i === 0 ? raw : null,
    ...plan.fees,
  }));
  return { plan, mints, started, raw, txHash, installs, gasLimit: gas };
}

/** A mint call whose signature's s is replaced: the token recovers a stranger and refuses it (test fault only). */
function corruptSignature(data: Hex): Hex {
  return `${data.slice(0, -64)}${'11'.repeat(32)}` as Hex;
}

/** The batch's receipt, and what it says about each mint (eip7702-settle.ts). */
async function collectDelegatedBatch(
  rt: TaskRuntime,
  { mints, raw, txHash, installs }: SignedDelegatedBatch,
): Promise<Collected> {
  const first = mints[0]!;
  const pending: PendingMint = {
    sequenceNumber: first.sequenceNumber,
    mintId: first.mintId as Hex,
    nonce: first.nonce,
    raw,
    hashes: [txHash],
    batch: true,
  };
  // No 'sent' mark: the reconciler treats signed and sent rows alike, the settle records
  // sent_at, and the mark cost a query per batch (bench:mint).
  const [outcome] = await collectMints(rt, [pending]);
  const settlement = await settleBatchOutcome(
    rt,
    outcome!,
    mints.map((m) => ({ sequenceNumber: m.sequenceNumber, mintId: m.mintId as Hex })),
  );
  if (settlement.reverts.length || settlement.failed.length) rt.simulatedAt = undefined; // the next batch simulates again
  // A batch that reverted as a whole (try mode catches each mint's own failure) most likely ran
  // out of gas: the retry estimates again rather than sending every batch of the run short.
  if (settlement.reverted) rt.batchGas = undefined;
  // Never the transaction's success: the code the agent has now says whether it is delegated to us.
  if (installs || settlement.ranNoCode)
    rt.delegated = isDelegatedTo(
      await rt.client.getCode({ address: rt.task.agentAddress, blockTag: 'latest' }),
      rt.batchExecutor!,
    );
  return { settlement, failure: settlement.ranNoCode ? new NotDelegatedError(rt.task.agentAddress) : undefined };
}
