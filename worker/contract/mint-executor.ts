import { erc20Abi, type Address } from 'viem';
import {
  LeaseLostError,
  listNextSequencesByTask,
  listOpenMintRecordsByTask,
  type OpenMintRecord,
} from '@/db/mint-records';
import { getTaskProgress, recordTaskAttemptFailure, releaseTaskLease } from '@/db/task-queue';
import { transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { getKnownContracts } from '@/lib/chain/clients';
import { batchSizeFor, feesOf, gweiToWei, quoteFees } from '@/lib/chain/fees';
import { isDelegatedTo } from '@/lib/chain/batch-calls';
import { resolveMintExecution } from '@/lib/chain/batch-support';
import { createMintAuthorizer } from '@/lib/chain/mint-signature';
import {
  classifyChainError,
  FINAL_REVERT_REASONS,
  MintRevertError,
  type RevertReason,
} from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { contractBatchGasWei, MINT_GAS_ESTIMATE } from '@/lib/wallets/gas-topup';
import { LeaseKeeper } from '../lease';
import { ensureAllowance, presign, runMintBatch, unlockSigner, type TaskRuntime } from './mint-batch';
import { nativeBackend } from '@/lib/chain/native-crypto';
import { topUpAgentGas } from './operator';
import { runMintPipeline, singleMintStages } from './mint-pipeline';
import { reconcileOpenMints } from './batch-settle';
import { delegatedBatchStages, runDelegatedBatch } from './batch-tx';
import type { Outcome } from '../reporter';
import type { ExecuteOptions } from '../route';
import { getWorkerClient } from '../rpc';
import { backoffMs, sleep } from '../sleep';

/**
 * Runs one claimed task until it completes, fails, is cancelled, or is given back (shutdown,
 * lost lease). Each turn: reconcile the ledger with the chain, look at the task (done?
 * cancelled?), then one batch; then MINT_INTERVAL_MS of pacing.
 */
export async function executeContractTask(claimed: TaskWithAgent, options: ExecuteOptions): Promise<Outcome> {
  const config = getConfig().worker;
  const lease = new LeaseKeeper(claimed.id, options.workerId, config.leaseMs, (e) =>
    options.reporter.error(claimed, e, 'lease renewal failed'),
  );
  const rt = runtimeOf(claimed, options);
  options.reporter.taskStarted(rt.task);
  let transientFailures = 0;
  try {
    for (;;) {
      if (lease.lost) return done(rt, 'released', options);
      if (options.drain.aborted) {
        await releaseTaskLease({ id: claimed.id, workerId: options.workerId });
        return done(rt, 'released', options);
      }
      try {
        const outcome = await turn(rt, config);
        if (outcome) return done(rt, outcome, options);
        transientFailures = 0;
        if (rt.task.mintsCompleted < rt.task.quantity && config.mintIntervalMs > 0) {
          options.reporter.waiting(rt.task, config.mintIntervalMs);
          await sleep(config.mintIntervalMs, options.drain);
        }
      } catch (error) {
        if (error instanceof LeaseLostError) return done(rt, 'released', options);
        const kind = classifyChainError(error);
        if (kind.kind === 'transient') {
          // 250 ms doubling to 5 s: a node restart (~2 s) is retried within a second or two,
          // a long outage costs one cheap request every 5 s; the task stays processing throughout.
          const delay = backoffMs(++transientFailures, 250, 5_000);
          options.reporter.retrying(rt.task, kind, delay, transientFailures);
          await sleep(delay, options.drain);
          continue;
        }
        const { attempts, retryInMs } = await recordTaskAttemptFailure({ id: claimed.id, error: kind.message });
        if (attempts > config.maxRetries || FINAL_REVERT_REASONS.has(kind.reason as RevertReason)) {
          const failed = await transitionTask({
            id: claimed.id,
            from: 'processing',
            to: 'failed',
            set: { errorMessage: kind.message, lockedBy: null, lockedUntil: null },
          });
          return done(rt, failed ? 'failed' : 'released', options, kind.message);
        }
        const delay = retryInMs;
        options.reporter.retrying(rt.task, kind, delay, attempts);
        await sleep(delay, options.drain);
      }
    }
  } finally {
    lease.stop();
  }
}

function done(rt: TaskRuntime, outcome: Outcome, options: ExecuteOptions, message?: string): Outcome {
  options.reporter.taskFinished(rt.task, outcome, message);
  return outcome;
}

async function turn(rt: TaskRuntime, config: ReturnType<typeof getConfig>['worker']): Promise<Outcome | undefined> {
  // After a batch that settled every mint, its own settle returned fresh progress (and the
  // cancel flag) and left no open rows, so the next turn skips this read; any other way here
  // (first turn, an error, a backoff) reads the ledger and reconciles.
  const settled = rt.settled;
  rt.settled = undefined;
  const [[open, progress]] = await Promise.all([
    settled
      ? ([[] as OpenMintRecord[], settled] as const)
      : Promise.all([listOpenMintRecordsByTask({ taskId: rt.task.id }), getTaskProgress({ id: rt.task.id })]),
    prepare(rt),
  ]);
  let task = progress;
  if (open.length > 0) {
    const reconciled = await reconcileOpenMints(rt, open);
    if (reconciled?.settlement.reverts.length)
      throw new MintRevertError(reconciled.settlement.reverts[0]!.reason, reconciled.settlement.reverts[0]!.message);
    task = reconciled?.task ?? (await getTaskProgress({ id: rt.task.id }));
  }
  if (!task || task.status !== 'processing') return 'released';
  rt.task.mintsCompleted = task.mintsCompleted;
  if (task.mintsCompleted >= task.quantity) {
    const completed = await transitionTask({
      id: task.id,
      from: 'processing',
      to: 'completed',
      set: { completedAt: new Date(), errorMessage: null, lockedBy: null, lockedUntil: null },
    });
    return completed ? 'completed' : 'released';
  }
  if (task.cancelRequested) {
    const cancelled = await transitionTask({
      id: task.id,
      from: 'processing',
      to: 'cancelled',
      set: { lockedBy: null, lockedUntil: null },
    });
    return cancelled ? 'cancelled' : 'released';
  }

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
  const size = batchSizeFor({
    configured: config.batchSize,
    remaining,
    baseFee: quote.baseFee,
    highBaseFeeWei: gweiToWei(config.highBaseFeeGwei),
  });
  const sequences = candidates.slice(0, size);
  const remainingCost = rt.pricePerMint * BigInt(remaining);
  const fees = feesOf(quote);

  const pipelined = config.mintIntervalMs === 0 && config.pipelineDepth > 1;
  // Usually none on a first turn: the fund route sent this same amount beside the funding transfer.
  const neededWei = contractBatchGasWei({
    batchMints: sequences.length,
    remaining,
    maxFeePerGas: quote.maxFeePerGas,
    gasPerMint: rt.gasPerMint,
  });
  const toppingUp = topUpAgentGas(rt, { balance, neededWei, fees });
  toppingUp.catch(() => {}); // awaited below
  // The first batch's authorizations are signed while a top-up or an approval is being mined.
  const presigning = presign(rt, sequences);
  presigning.catch(() => {}); // awaited below
  const topUp = await toppingUp;
  const start = { quote, balance: balance + (topUp?.amountWei ?? 0n) };
  // No pacing asked for and pipelining on: batches overlap (mint-pipeline.ts). Otherwise one
  // batch per turn, and the turn loop waits MINT_INTERVAL_MS before the next.
  if (batched) {
    // One transaction per batch, the approval (when short) and the delegation (when missing) joined into the first.
    await presigning;
    const first = {
      sequences,
      fees,
      remainingCost,
      nonce,
      approve: allowance < remainingCost ? remainingCost : undefined,
      installs: !rt.delegated,
    };
    if (pipelined) {
      await runMintPipeline(rt, first, start, delegatedBatchStages);
      return undefined;
    }
    const settlement = await runDelegatedBatch(rt, first);
    if (settlement.reverts.length)
      throw new MintRevertError(settlement.reverts[0]!.reason, settlement.reverts[0]!.message);
    return undefined;
  }
  const approved = await ensureAllowance(rt, { need: remainingCost, allowance, fees, nonce });
  await presigning;
  const plan = { sequences, fees, remainingCost, nonce: approved ? nonce + 1 : nonce };
  if (pipelined) {
    await runMintPipeline(rt, plan, start, singleMintStages);
    return undefined;
  }
  const settlement = await runMintBatch(rt, plan);
  if (settlement.reverts.length)
    throw new MintRevertError(settlement.reverts[0]!.reason, settlement.reverts[0]!.message);
  return undefined;
}

function runtimeOf(task: TaskWithAgent, options: ExecuteOptions): TaskRuntime {
  const rt: TaskRuntime = {
    client: getWorkerClient(),
    reporter: options.reporter,
    signal: options.drain,
    workerId: options.workerId,
    task: {
      id: task.id,
      agentAddress: task.agentAddress as Address,
      tokenAddress: task.tokenAddress as Address,
      userAddress: task.userAddress as Address,
      quantity: task.quantity,
      mintsCompleted: task.mintsCompleted,
    },
    walletId: task.agentWalletId,
    wallet: undefined as never,
    usdc: getKnownContracts().usdc,
    chainId: task.chainId,
    pricePerMint: BigInt(task.pricePerMint),
    authorizer: undefined as never,
    gasPerMint: MINT_GAS_ESTIMATE,
    resign: (tx) =>
      unlockSigner(rt, rt.pricePerMint * BigInt(rt.task.quantity - rt.task.mintsCompleted)).signTransaction(tx),
  };
  return rt;
}

/** Loads what signing needs once per task run (retried like any chain read when it fails): one query, one batched RPC request. */
async function prepare(rt: TaskRuntime) {
  if (rt.wallet && rt.authorizer && rt.execution) return;
  const [wallet, authorizer, execution] = await Promise.all([
    getWalletById({ id: rt.walletId }),
    createMintAuthorizer(rt.client, { address: rt.task.tokenAddress, chainId: rt.chainId }, nativeBackend),
    resolveMintExecution(),
  ]);
  if (!wallet) throw new Error(`agent wallet of task ${rt.task.id} not found`);
  [rt.wallet, rt.authorizer, rt.execution, rt.batchExecutor] = [
    wallet,
    authorizer,
    execution.effective,
    execution.batchExecutor,
  ];
}
