import { erc20Abi, parseTransaction, type Hex } from 'viem';
import { listNextSequencesByTask, listOpenMintRecordsByTask, type OpenMintRecord } from '@/db/mint-records';
import { getTaskProgress, type TaskProgress } from '@/db/task-queue';
import { isDelegatedTo } from '@/lib/chain/batch-calls';
import { batchSizeFor, feesOf, quoteFees } from '@/lib/chain/fees';
import { classifyChainError, FINAL_REVERT_REASONS, MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { contractBatchGasWei } from '@/lib/wallets/gas-topup';
import type { TurnEnd, TaskExecutor } from '../task-executor';
import { presign } from './authorizations';
import { runBatchAlone } from './batch-stages';
import { delegatedBatchStages } from './eip7702-batch';
import { topUpAgentGas } from './gas-top-up';
import { runMintPipeline } from './mint-pipeline';
import { reconcileOpenMints } from './reconciler';
import { delegatedBatchGas, loadRuntime, startContractRun, type ContractRun, type TaskRuntime } from './runtime';
import { singleMintStages } from './single-mint-batch';
import type { Settlement } from './settlement';
import { ensureAllowance } from './usdc-approval';

/**
 * The contract route: the agent calls the token's `mint` with the mint signer's authorization,
 * one transaction per mint or one EIP-7702 transaction per batch (MINT_EXECUTION). Each turn
 * reconciles the ledger with the chain, then runs one batch, or with MINT_INTERVAL_MS=0 a
 * pipeline of overlapping batches until the task is done, cancelled or something fails.
 */
export const contractExecutor: TaskExecutor<ContractRun, TaskRuntime> = {
  start: startContractRun,
  prepare,
  runBatch,
  classify(error) {
    const kind = classifyChainError(error);
    return { ...kind, final: kind.kind === 'revert' && FINAL_REVERT_REASONS.has(kind.reason) };
  },
};

async function prepare(run: ContractRun) {
  // After a batch that settled every mint, its own settle returned fresh progress (and the
  // cancel flag) and left no open rows, so the next turn skips this read; any other way here
  // (first turn, an error, a backoff) reads the ledger and reconciles. What signing needs is
  // loaded beside that read on the first turn (and after a failure to load).
  const settled = run.runtime?.settled;
  if (run.runtime) run.runtime.settled = undefined;
  const taskId = run.task.id;
  const [[open, progress], rt] = await Promise.all([
    settled
      ? ([[] as OpenMintRecord[], settled] as const)
      : Promise.all([listOpenMintRecordsByTask({ taskId }), getTaskProgress({ id: taskId })]),
    run.runtime ?? loadRuntime(run),
  ]);
  run.runtime = rt;
  const current = open.length === 0 ? progress : await reconcile(rt, open);
  return current && { progress: current, ready: rt };
}

/** Settles the open rows with the chain; the task's progress after that. */
async function reconcile(rt: TaskRuntime, open: OpenMintRecord[]) {
  let reconciled;
  try {
    reconciled = await reconcileOpenMints(rt, open);
  } catch (error) {
    // The node refused to take an open transaction back for want of ETH (the agent's ETH went
    // after it was signed, or it was signed before its gas was checked as it is now): every
    // turn would meet that refusal here, before its batch could top the agent up, until the
    // task failed. The agent is topped up for what the open transactions may cost, once.
    if (classifyChainError(error).reason !== 'gas_funds') throw error;
    await topUpForOpen(rt, open);
    reconciled = await reconcileOpenMints(rt, await listOpenMintRecordsByTask({ taskId: rt.task.id }));
  }
  if (reconciled) throwFirstRevert(reconciled.settlement);
  return reconciled?.task ?? (await getTaskProgress({ id: rt.task.id }));
}

/** Tops the agent up to the most its open (signed) transactions can cost: gas limit × max fee + value each. */
async function topUpForOpen(rt: TaskRuntime, open: OpenMintRecord[]) {
  const raws = new Set(open.flatMap((r) => (r.rawTransaction ? [r.rawTransaction as Hex] : [])));
  let neededWei = 0n;
  for (const raw of raws) {
    const tx = parseTransaction(raw);
    neededWei += (tx.gas ?? 0n) * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n) + (tx.value ?? 0n);
  }
  const [quote, balance] = await Promise.all([
    quoteFees(rt.client, { maxFeeGwei: getConfig().worker.maxFeeGwei }),
    rt.client.getBalance({ address: rt.task.agentAddress }),
  ]);
  await topUpAgentGas(rt, { balance, neededWei, fees: feesOf(quote) });
}

/** A batch whose mint reverted ends the turn as that revert (one attempt; the reason for the owner). */
function throwFirstRevert(settlement: Settlement) {
  const [revert] = settlement.reverts;
  if (revert) throw new MintRevertError(revert.reason, revert.message);
}

async function runBatch(rt: TaskRuntime, task: TaskProgress): Promise<TurnEnd> {
  const config = getConfig().worker;
  // Everything the batch needs, read at once (one batched RPC request, one query).
  const { client, task: ref } = rt;
  const batched = rt.execution === 'batch';
  const [quote, candidates, balance, allowance, nonce, code] = await Promise.all([
    quoteFees(client, { maxFeeGwei: config.maxFeeGwei }),
    listNextSequencesByTask({ taskId: task.id, quantity: task.quantity, limit: config.batchSize }),
    client.getBalance({ address: ref.agentAddress }),
    client.readContract({
      address: rt.usdc,
      abi: erc20Abi,
      functionName: 'allowance',
      args: [ref.agentAddress, ref.tokenAddress],
    }),
    client.getTransactionCount({ address: ref.agentAddress, blockTag: 'pending' }),
    batched ? client.getCode({ address: ref.agentAddress }) : undefined,
  ]);
  // Relied on only as the chain shows it: the agent's code is 0xef0100 ‖ our executor.
  if (batched) rt.delegated = isDelegatedTo(code, rt.batchExecutor!);
  const remaining = task.quantity - task.mintsCompleted;
  const size = batchSizeFor(config, { remaining, baseFee: quote.baseFee });
  const sequences = candidates.slice(0, size);
  const remainingCost = rt.pricePerMint * BigInt(remaining);
  const fees = feesOf(quote);

  const pipelined = config.mintIntervalMs === 0 && config.pipelineDepth > 1;
  // What the batch will be signed with: one transaction per mint, gasPerMint each (usually no
  // top-up on a first turn: the fund route sent this same amount beside the funding transfer);
  // one EIP-7702 batch, its own limit (its fixed part, the approval and delegation it carries).
  const installs = batched && !rt.delegated;
  const neededWei = contractBatchGasWei({
    batchMints: sequences.length,
    remaining,
    maxFeePerGas: quote.maxFeePerGas,
    gasPerMint: rt.gasPerMint,
    batchGas: batched ? (mints, batches) => delegatedBatchGas(rt, mints, batches, installs) : undefined,
  });
  const toppingUp = topUpAgentGas(rt, { balance, neededWei, fees });
  toppingUp.catch(() => {}); // awaited below
  // The first batch's authorizations are signed while a top-up or an approval is being mined.
  const presigning = presign(rt, sequences);
  presigning.catch(() => {}); // awaited below
  const topUp = await toppingUp;
  const start = { quote, balance: balance + (topUp?.amountWei ?? 0n) };
  // No pacing asked for and pipelining on: batches overlap (mint-pipeline.ts). Otherwise one
  // batch per turn, and the task loop waits MINT_INTERVAL_MS before the next.
  if (batched) {
    // One transaction per batch, the approval (when short) and the delegation (when missing) joined into the first.
    await presigning;
    const first = {
      sequences,
      fees,
      remainingCost,
      nonce,
      approve: allowance < remainingCost ? remainingCost : undefined,
      installs,
    };
    if (pipelined) await runMintPipeline(rt, first, start, delegatedBatchStages);
    else await runBatchAlone(rt, first, delegatedBatchStages);
    return { paced: true };
  }
  const approved = await ensureAllowance(rt, { need: remainingCost, allowance, fees, nonce });
  await presigning;
  const plan = { sequences, fees, remainingCost, nonce: approved ? nonce + 1 : nonce };
  if (pipelined) await runMintPipeline(rt, plan, start, singleMintStages);
  else await runBatchAlone(rt, plan, singleMintStages);
  return { paced: true };
}
