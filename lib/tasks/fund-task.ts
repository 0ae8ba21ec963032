import { BaseError, ContractFunctionRevertedError, formatUnits, type Hex } from 'viem';
import {
  getOtherTaskByFundingNonce,
  getTaskByIdIn,
  LockBusy,
  markFundingSubmitted,
  recordFundingSubmittedTx,
  withUserFundingLock,
} from '@/db/task-funding';
import { getTaskById, wakeWorkers, type DbExecutor, type TaskWithAgent } from '@/db/tasks';
import { getChain, getKnownContracts, getPublicClient } from '../chain/clients';
import { testUSDCAbi } from '../chain/contracts.generated';
import {
  authorizationToJson,
  chainUnavailable,
  isAuthorizationUsedAt,
  readChain,
  safeChainCause,
  verifyAuthorizationSignature,
  type Authorization,
} from '../chain/eip3009';
import { waitForReceipt } from '../chain/receipts';
import { getUsdcDomain } from '../chain/usdc';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { readEarlyTopUpInputs, releaseEarlyTopUp, reserveEarlyTopUp } from '../funding/early-top-up';
import { prepareFundingTransfer, sendFundingTransfer, type PreparedFunding } from '../funding/send-funding';
import { adoptTransfer, settleSubmittedFunding, type Settled } from '../funding/submitted-transfer';
import { getLogger } from '../log';
import { checkAuthorizationTerms, checkPaymentWindow, replayOrConflict, type StoredFunding } from './fund-checks';

export type FundTaskInput = {
  taskId: string;
  authorization: Authorization;
  signature: Hex;
  /** Runs once the signature proves the request is the payer's: where a per-payer limit counts. */
  onSignatureVerified?: () => Promise<void>;
};
export type FundTaskResult = { txHash: Hex; task: TaskWithAgent };

// One request settles a funding in at most this many turns of the lock: submit, then settle what
// it submitted; a third only when the transfer reverted without using the nonce.
const MAX_TURNS = 3;

/**
 * Pays for a task with the owner's EIP-3009 authorization. Every check runs before anything is
 * sent. The checks and the send happen under the owner's funding lock, which records the transfer
 * on the task before letting go; its receipt is awaited with no lock and no connection held, and
 * the guarded `pending_payment → funded` UPDATE follows under the lock again. Whoever comes next
 * for the task (the same authorization posted again, a different one, another process) finds the
 * recorded transfer and waits for it instead of sending: the same authorization posted any number
 * of times at once moves USDC once and every caller sees the same transaction.
 */
export async function fundTask(input: FundTaskInput, nowMs = Date.now()): Promise<FundTaskResult> {
  const task = await getTaskById({ id: input.taskId });
  if (!task) throw new AppError('not_found:task', `No task with id ${input.taskId}.`);
  if (task.status !== 'pending_payment')
    return { ...replayOrConflict(task, input.authorization, input.signature), task };
  if (task.chainId !== getChain().id) {
    throw new AppError(
      'conflict:task',
      `This task was created on chain ${task.chainId}; this server runs chain ${getChain().id}.`,
    );
  }
  checkPaymentWindow(task, getConfig().worker.paymentTimeoutSeconds, nowMs);
  checkAuthorizationTerms(task, input.authorization, nowMs);
  const domain = await readChain(() => getUsdcDomain());
  const signature = await verifyAuthorizationSignature({
    authorization: input.authorization,
    signature: input.signature,
    domain,
  });
  await input.onSignatureVerified?.();
  const stored: StoredFunding = { authorization: authorizationToJson(input.authorization), signature };

  const { receiptTimeoutMs } = getConfig().worker;
  for (let turn = 1; ; turn++) {
    let step: Step;
    try {
      step = await withUserFundingLock(task.userAddress, (db) => fundLocked(db, task.id, input.authorization, stored), {
        waitMs: 15_000,
      });
    } catch (error) {
      if (error instanceof LockBusy)
        throw new AppError('conflict:fund', 'Another payment for this user is being submitted; try again in a moment.');
      throw error;
    }
    if ('settled' in step) return answer(step.settled, input.authorization, signature);
    if (!step.txHash) {
      // Someone's transfer using this authorization is in the node's pool, not yet mined.
      throw new AppError(
        'conflict:fund',
        'A transfer with this authorization is waiting to be mined; post it again in a few seconds.',
      );
    }
    try {
      await waitForReceipt(getPublicClient(), step.txHash, receiptTimeoutMs);
    } catch (error) {
      throw new AppError(
        'unavailable:chain',
        `Transfer ${step.txHash} is not confirmed yet; post the same authorization again to see the result.`,
        { cause: safeChainCause(error), details: { txHash: step.txHash } },
      );
    }
    if (turn >= MAX_TURNS) {
      throw new AppError(
        'unavailable:chain',
        `Transfer ${step.txHash} has not settled this task yet; post the same authorization again to see the result.`,
        { details: { txHash: step.txHash } },
      );
    }
  }
}

/** What a task's funding must match: its owner, its agent wallet and its total cost. */
export type FundingTerms = Pick<TaskWithAgent, 'userAddress' | 'agentAddress' | 'totalCost'>;

/**
 * fundTask's checks of an authorization, for a task not created yet: an x402 sale's payment is
 * the task's funding, and a payment this would refuse must create nothing. Terms, nonce unused
 * on chain, balance; the signature is the caller's to verify first (the sale verifies it before
 * it looks anything up, lib/x402-seller/sell-mint-task.ts). fundTask runs them all again (nonce
 * and balance under the owner's lock) before it sends anything.
 */
export async function checkFundingAuthorization(terms: FundingTerms, authorization: Authorization, nowMs = Date.now()) {
  checkAuthorizationTerms(terms, authorization, nowMs);
  const { used, balance } = await readAuthorizationState(authorization);
  if (used) {
    throw new AppError(
      'bad_request:fund',
      `authorization nonce ${authorization.nonce} is already used on chain; sign a new one.`,
    );
  }
  checkBalanceCovers(authorization, balance);
}

/** Whether the authorization's nonce is used on chain, and what its signer holds. */
async function readAuthorizationState(a: Authorization) {
  const client = getPublicClient();
  const usdc = getKnownContracts().usdc;
  const [used, balance] = await readChain(() =>
    Promise.all([
      isAuthorizationUsedAt(client, usdc, a.from, a.nonce, 'latest'),
      client.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [a.from] }),
    ]),
  );
  return { used, balance };
}

function checkBalanceCovers(a: Authorization, balance: bigint) {
  if (balance >= a.value) return;
  throw new AppError(
    'bad_request:fund',
    `USDC balance too low: ${a.from} holds ${formatUnits(balance, 6)} USDC, below the ${formatUnits(a.value, 6)} USDC this task costs.`,
  );
}

/** One turn under the lock: the task settled, or a transfer for it to wait for. */
type Step = { settled: Settled & { state: 'settled' } } | { txHash?: Hex };

/** The caller's answer once the task's transfer is settled; the workers are woken by whoever moved it. */
async function answer(settled: Settled & { state: 'settled' }, a: Authorization, signature: Hex) {
  if (settled.transitioned) {
    // Workers also poll, so a lost wake-up only delays the start; it must not fail a paid request.
    await wakeWorkers(settled.task.id).catch((error: unknown) =>
      getLogger().warn({ taskId: settled.task.id, err: String(error) }, 'could not wake workers'),
    );
  }
  return { ...replayOrConflict(settled.task, a, signature), task: settled.task };
}

async function fundLocked(db: DbExecutor, taskId: string, a: Authorization, stored: StoredFunding): Promise<Step> {
  const task = await getTaskByIdIn(db, { id: taskId });
  if (!task) throw new AppError('not_found:task', `No task with id ${taskId}.`);
  // A transfer was submitted for it and nothing recorded what became of it: settle that first.
  // Also on a task cancelled meanwhile, which keeps the hash of a transfer that landed anyway.
  const unsettled = task.fundingSubmittedAt && !task.fundingTxHash;
  if (unsettled && (task.status === 'pending_payment' || task.status === 'cancelled')) {
    const settled = await settleSubmittedFunding(db, task);
    if (settled.state === 'settled') return { settled };
    if (settled.state === 'in_flight') return { txHash: settled.txHash };
  }
  if (task.status !== 'pending_payment') return { settled: { state: 'settled', task, transitioned: false } };
  if (await getOtherTaskByFundingNonce(db, { userAddress: a.from, nonce: a.nonce, exceptId: task.id })) {
    throw new AppError(
      'conflict:fund',
      `authorization nonce ${a.nonce} is already used for another task; sign a new authorization.`,
    );
  }

  const client = getPublicClient();
  const usdc = getKnownContracts().usdc;
  // Read beside the checks: what the agent's first gas top-up, sent with the transfer, must be.
  const gasInputs = readEarlyTopUpInputs(task);
  const { used, balance } = await readAuthorizationState(a);
  if (used) return { settled: await adoptOrThrow(db, task, a, stored) };
  checkBalanceCovers(a, balance);

  const args = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, stored.signature] as const;
  const inputs = await gasInputs;
  let prepared: PreparedFunding;
  try {
    prepared = await prepareFundingTransfer({ usdc, args, fees: inputs?.fees });
  } catch (error) {
    throw simulationError(error);
  }

  const topUp = await reserveEarlyTopUp(task, inputs);
  // Withdrawals (which take this same lock) count the task's cost as reserved from here on, and
  // whoever takes the lock next for this task settles the transfer from this record.
  if (!(await markFundingSubmitted({ id: task.id, nonce: a.nonce, authorization: stored }))) {
    await releaseEarlyTopUp(topUp);
    const now = (await getTaskByIdIn(db, { id: task.id }))!;
    return { settled: { state: 'settled', task: now, transitioned: false } }; // cancelled meanwhile: nothing sent
  }
  let txHash: Hex;
  try {
    txHash = await sendFundingTransfer(prepared, topUp);
  } catch (error) {
    // Someone's transfer may have used the authorization since the estimate.
    const usedNow = await isAuthorizationUsedAt(client, usdc, a.from, a.nonce, 'latest').catch(() => false);
    if (usedNow) return { settled: await adoptOrThrow(db, task, a, stored) };
    // Maybe sent (a timeout, a lost answer): the record stays, and the next post settles it by
    // the authorization's nonce (lib/funding/submitted-transfer.ts).
    throw new AppError(
      'unavailable:chain',
      'The transfer could not be submitted; post the same authorization again to retry.',
      {
        cause: safeChainCause(error),
      },
    );
  }
  await recordFundingSubmittedTx({ id: task.id, txHash });
  return { txHash };
}

async function adoptOrThrow(db: DbExecutor, task: TaskWithAgent, a: Authorization, stored: StoredFunding) {
  const settled = await adoptTransfer(db, task, a, stored);
  if (settled.state !== 'settled') throw new Error('adoptTransfer settles or throws');
  return settled;
}

const revertOf = (error: unknown) =>
  error instanceof BaseError
    ? (error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null)
    : null;

function simulationError(error: unknown): AppError {
  const reverted = revertOf(error);
  // Unused in the latest block but used in the pending one: a submission is waiting to be mined.
  if (reverted?.reason?.includes('authorization is used')) {
    return new AppError(
      'conflict:fund',
      'A transfer with this authorization is waiting to be mined; post it again in a few seconds.',
    );
  }
  if (reverted)
    return new AppError(
      'bad_request:fund',
      `USDC would reject this authorization: ${reverted.reason ?? reverted.shortMessage}`,
    );
  return chainUnavailable(error);
}
