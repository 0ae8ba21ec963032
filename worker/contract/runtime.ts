import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import type { SignedMint } from '@/db/mint-records';
import type { AgentWallet } from '@/db/schema';
import type { TaskProgress } from '@/db/task-queue';
import type { TaskWithAgent } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { resolveMintExecution } from '@/lib/chain/batch-support';
import { getKnownContracts } from '@/lib/chain/clients';
import type { Fees } from '@/lib/chain/fees';
import { createMintAuthorizer, type MintAuthorizer } from '@/lib/chain/mint-signature';
import { nativeAccount, nativeBackend } from '@/lib/chain/native-crypto';
import { getConfig } from '@/lib/config';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { VaultError } from '@/lib/wallets/key-vault';
import { MINT_GAS_ESTIMATE } from '@/lib/wallets/gas-topup';
import { createGuardedSigner } from '@/lib/wallets/tx-guard';
import { getWorkerClient } from '../rpc';
import type { RunOptions } from '../task-executor';
import type { CollectContext } from './mint-chain';
import type { Settlement } from './settlement';

// One contract task run's state, shared by both ways of executing (one transaction per mint:
// single-mint-batch.ts; one EIP-7702 transaction per batch: eip7702-batch.ts) and the pipeline.

/** A contract task as claimed, before anything is loaded: the executor's `start`. */
export type ContractRun = {
  task: TaskRuntime['task'];
  options: RunOptions;
  walletId: string;
  usdc: Address;
  chainId: number;
  pricePerMint: bigint;
  /** Loaded by the first turn whose loading succeeds, then kept for the run. */
  runtime?: TaskRuntime;
};

export type TaskRuntime = CollectContext & {
  /** `recipient`: where the mints go, the task's recipient or else its user. */
  task: CollectContext['task'] & { userAddress: Address; recipient: Address; quantity: number; gasToppedUpWei: bigint };
  workerId: string;
  walletId: string;
  wallet: AgentWallet;
  usdc: Address;
  chainId: number;
  pricePerMint: bigint;
  authorizer: MintAuthorizer;
  /** One EIP-7702 transaction per batch (eip7702-batch.ts), or one transaction per mint. */
  execution: 'batch' | 'single';
  batchExecutor?: Address;
  /** Gas limit per mint from the task run's estimate; a first guess before it. */
  gasPerMint: bigint;
  gasEstimated?: boolean;
  /** When the last batch's first mint was simulated successfully (ms). */
  simulatedAt?: number;
  /** Progress returned by the last batch's settle when it left nothing open. */
  settled?: TaskProgress;
  /** Mint authorizations signed ahead, by sequence number (they depend only on payer, recipient and mintId). */
  presigned?: Map<number, Authorization>;
  /** The agent's code is a delegation to batchExecutor (read from the chain each turn). */
  delegated?: boolean;
  /** Gas limit of a batch transaction: base + perMint × mints, from the task run's first estimates. */
  batchGas?: { base: bigint; perMint: bigint };
  /**
   * No gas top-up of the task can be on its way: it had none when claimed (gasToppedUpWei 0), and
   * each one this run sent was mined before the run sized the next (gas-top-up.ts keeps it).
   */
  noTopUpInFlight: boolean;
  /** The agent's guarded signer, unlocked for one pipeline run (mint-pipeline.ts) and dropped after it. */
  signer?: Awaited<ReturnType<typeof unlockSigner>>;
};

/** A mint signer's authorization for one mintId, and the token's mint call that carries it. */
export type Authorization = {
  mintId: Hex;
  args: readonly [Address, Hex, number, Hex, Hex];
  data: Hex;
};

export type BatchPlan = { sequences: number[]; fees: Fees; nonce: number; remainingCost: bigint };
export type SignedBatch = {
  plan: BatchPlan;
  mints: SignedMint[];
  started: number;
  /** The gas limits of the batch's transactions, together: at most this × maxFeePerGas is spent on it. */
  gasLimit: bigint;
};
export type SettledBatch = { settlement: Settlement; progress?: TaskProgress };

export function startContractRun(task: TaskWithAgent, options: RunOptions): ContractRun {
  return {
    task: {
      id: task.id,
      agentAddress: task.agentAddress as Address,
      tokenAddress: task.tokenAddress as Address,
      userAddress: task.userAddress as Address,
      recipient: getAddress(task.recipient ?? task.userAddress),
      quantity: task.quantity,
      mintsCompleted: task.mintsCompleted,
      gasToppedUpWei: BigInt(task.gasToppedUpWei),
    },
    options,
    walletId: task.agentWalletId,
    usdc: getKnownContracts().usdc,
    chainId: task.chainId,
    pricePerMint: BigInt(task.pricePerMint),
  };
}

/** Loads what signing needs, once per task run: one query and one batched RPC request. */
export async function loadRuntime(run: ContractRun): Promise<TaskRuntime> {
  const { task, options } = run;
  const [wallet, authorizer, execution] = await Promise.all([
    getWalletById({ id: run.walletId }),
    createMintAuthorizer(getWorkerClient(), { address: task.tokenAddress, chainId: run.chainId }, nativeBackend),
    resolveMintExecution(),
  ]);
  if (!wallet) throw new Error(`agent wallet of task ${task.id} not found`);
  const rt: TaskRuntime = {
    client: getWorkerClient(),
    reporter: options.reporter,
    signal: options.drain,
    workerId: options.workerId,
    task,
    walletId: run.walletId,
    wallet,
    usdc: run.usdc,
    chainId: run.chainId,
    pricePerMint: run.pricePerMint,
    authorizer,
    execution: execution.effective,
    batchExecutor: execution.batchExecutor,
    gasPerMint: MINT_GAS_ESTIMATE,
    noTopUpInFlight: task.gasToppedUpWei === 0n,
    resign: async (tx) =>
      (await unlockSigner(rt, rt.pricePerMint * BigInt(rt.task.quantity - rt.task.mintsCompleted))).signTransaction(tx),
  };
  return rt;
}

/** The agent's guarded signer, unlocked just for this use (policy: the task's token and need). */
export async function unlockSigner(rt: TaskRuntime, remainingCost: bigint) {
  return createGuardedSigner(await unlockAgent(rt), {
    agent: rt.task.agentAddress,
    user: rt.task.userAddress,
    usdc: rt.usdc,
    chainId: rt.chainId,
    task: {
      token: rt.task.tokenAddress,
      remainingCost,
      ...(!isAddressEqual(rt.task.recipient, rt.task.userAddress) && { recipient: rt.task.recipient }),
    },
    batchExecutor: rt.batchExecutor,
  });
}

/**
 * The agent's account, from the wallet row the run loaded. `keys:rotate` re-seals every row under
 * a new key and then drops the old key from the key file (lib/wallets/key-rotation.ts): once this
 * process has reloaded the file, the run's copy no longer opens, so the row is read again, once.
 */
async function unlockAgent(rt: TaskRuntime) {
  try {
    return unlockAgentAccount(rt.wallet, nativeAccount);
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
    const wallet = await getWalletById({ id: rt.walletId });
    const resealed =
      wallet &&
      wallet.encryptedPrivateKey !== rt.wallet.encryptedPrivateKey &&
      isAddressEqual(wallet.agentAddress as Address, rt.task.agentAddress);
    if (!resealed) throw error;
    rt.wallet = wallet;
    return unlockAgentAccount(wallet, nativeAccount);
  }
}

/**
 * The gas limit `mints` mints take in `batches` batches: one transaction per mint takes its own
 * limit each; an EIP-7702 batch takes its fixed part once (the transaction, the approval it may
 * carry) and a per-mint part. What the agent's ETH must cover before they are sent.
 */
export function batchGasLimit(rt: TaskRuntime, mints: number, batches = 1): bigint {
  if (!rt.batchGas) return rt.gasPerMint * BigInt(mints);
  return rt.batchGas.base * BigInt(batches) + rt.batchGas.perMint * BigInt(mints);
}

/** With an EIP-7702 batch that installs the delegation: EIP-7702's 25,000 per authorization, plus room. */
const AUTHORIZATION_GAS = 30_000n;

/**
 * The gas limit of `mints` mints in `batches` EIP-7702 batches, the first carrying the approval
 * (when short) and, when it `installs` it, the delegation: what each batch is signed with, and
 * what the agent's ETH must cover (× the max fee) before they are sent. Not gasPerMint per mint:
 * in batch mode that is a mint's marginal share, and each batch also takes its fixed part
 * (`base`, a whole call). Before the task run's first estimate, MINT_GAS_ESTIMATE a mint and one
 * more, what the fund route's early top-up sends for (early-top-up.ts): about twice what a batch of
 * our tokens takes (under 100,000 gas a mint with its share of the fixed part); asking more here
 * cost small tasks a second top-up, a block, before their first batch. A token pricier than that
 * meets the node's "insufficient funds" on the first batch's send, and the next turn's reconcile
 * tops the agent up for what that batch was signed with (executor.ts). The batches after the
 * first are sized from the estimate it makes (the pipeline's refill).
 */
export function delegatedBatchGas(rt: TaskRuntime, mints: number, batches: number, installs: boolean): bigint {
  const authorization = installs ? AUTHORIZATION_GAS : 0n;
  if (rt.batchGas) return batchGasLimit(rt, mints, batches) + authorization;
  const first = Math.ceil(mints / Math.max(batches, 1));
  return MINT_GAS_ESTIMATE * BigInt(first + 1) + authorization;
}

/** Batches signed within this long of the last simulation skip their own (single-mint-batch.ts's signBatch says why). */
const SIMULATION_VALID_MS = 1_000;

/** Whether a batch signed at `now` may rely on the last batch's simulation: unpaced, and within SIMULATION_VALID_MS. */
export function recentlySimulated(rt: TaskRuntime, now: number) {
  const unpaced = getConfig().worker.mintIntervalMs === 0;
  return unpaced && rt.simulatedAt !== undefined && now - rt.simulatedAt < SIMULATION_VALID_MS;
}
