import { BaseError, ContractFunctionRevertedError, formatUnits, type Hex } from 'viem';
import {
  clearFundingSubmitted,
  getOtherTaskByFundingNonce,
  getTaskByIdIn,
  LockBusy,
  markFundingSubmitted,
  recordLateFundingTx,
  withUserFundingLock,
} from '@/db/task-funding';
import { getTaskById, transitionTask, wakeWorkers, type DbExecutor, type TaskWithAgent } from '@/db/tasks';
import { getChain, getKnownContracts, getOperatorAccount, getPublicClient } from '../chain/clients';
import { testUSDCAbi } from '../chain/contracts.generated';
import {
  authorizationToJson,
  chainUnavailable,
  findAuthorizationTransfer,
  readChain,
  safeChainCause,
  verifyAuthorizationSignature,
  type Authorization,
} from '../chain/eip3009';
import { getUsdcDomain } from '../chain/usdc';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { readEarlyTopUpInputs, reserveEarlyTopUp } from '../funding/early-top-up';
import { sendFundingTransfer } from '../funding/send-funding';
import { getLogger } from '../log';
import { checkAuthorizationTerms, checkPaymentWindow, replayOrConflict, type StoredFunding } from './fund-checks';

export type FundTaskInput = { taskId: string; authorization: Authorization; signature: Hex };
export type FundTaskResult = { txHash: Hex; task: TaskWithAgent };

/**
 * Pays for a task with the owner's EIP-3009 authorization. Every check runs before anything is
 * sent; the send, the receipt and the guarded `pending_payment → funded` UPDATE happen under
 * the owner's funding lock, so the same authorization posted any number of times at once moves
 * USDC once and every caller sees the same transaction.
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
  const stored: StoredFunding = { authorization: authorizationToJson(input.authorization), signature };

  let outcome: Outcome;
  try {
    outcome = await withUserFundingLock(
      task.userAddress,
      (db) => fundLocked(db, task.id, input.authorization, stored),
      {
        waitMs: getConfig().worker.receiptTimeoutMs + 15_000,
      },
    );
  } catch (error) {
    if (error instanceof LockBusy)
      throw new AppError(
        'conflict:fund',
        'Another payment for this user is still being confirmed; try again in a moment.',
      );
    throw error;
  }
  if ('error' in outcome) throw outcome.error;
  if (outcome.fresh) {
    // Workers also poll, so a lost wake-up only delays the start; it must not fail a paid request.
    await wakeWorkers(task.id).catch((error: unknown) =>
      getLogger().warn({ taskId: task.id, err: String(error) }, 'could not wake workers'),
    );
  }
  return { txHash: outcome.txHash, task: outcome.task };
}

// Errors that must not roll back what the transaction wrote are returned, not thrown.
type Outcome = { txHash: Hex; task: TaskWithAgent; fresh: boolean } | { error: AppError };

async function fundLocked(db: DbExecutor, taskId: string, a: Authorization, stored: StoredFunding): Promise<Outcome> {
  const task = await getTaskByIdIn(db, { id: taskId });
  if (!task) throw new AppError('not_found:task', `No task with id ${taskId}.`);
  if (task.status !== 'pending_payment') return { ...replayOrConflict(task, a, stored.signature), task, fresh: false };
  if (await getOtherTaskByFundingNonce(db, { userAddress: a.from, nonce: a.nonce, exceptId: task.id })) {
    throw new AppError(
      'conflict:fund',
      `authorization nonce ${a.nonce} already paid for another task; sign a new authorization.`,
    );
  }

  const client = getPublicClient();
  const usdc = getKnownContracts().usdc;
  // Read beside the checks: what the agent's first gas top-up, sent with the transfer, must be.
  const gasInputs = readEarlyTopUpInputs(task);
  const [used, balance] = await readChain(() =>
    Promise.all([
      client.readContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'authorizationState',
        args: [a.from, a.nonce],
      }),
      client.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [a.from] }),
    ]),
  );
  if (used) return adoptSubmitted(db, task, a, stored);
  if (balance < a.value) {
    throw new AppError(
      'bad_request:fund',
      `USDC balance too low: ${a.from} holds ${formatUnits(balance, 6)} USDC, below the ${formatUnits(a.value, 6)} USDC this task costs.`,
    );
  }

  const args = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, stored.signature] as const;
  try {
    // `pending`: a local chain mines only on demand, so its latest block may be hours old.
    await client.simulateContract({
      account: getOperatorAccount(),
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args,
      blockTag: 'pending',
    });
  } catch (error) {
    throw simulationError(error);
  }

  let txHash: Hex;
  const topUp = await reserveEarlyTopUp(task, await gasInputs);
  // Withdrawals (which take this same lock) count the task's cost as reserved from here on.
  await markFundingSubmitted({ id: task.id });
  try {
    txHash = await sendFundingTransfer({ usdc, args, topUp });
  } catch (error) {
    // Gas estimation reverts when someone submitted the authorization since the simulation.
    const usedNow = await client
      .readContract({ address: usdc, abi: testUSDCAbi, functionName: 'authorizationState', args: [a.from, a.nonce] })
      .catch(() => false);
    if (usedNow) return adoptSubmitted(db, task, a, stored);
    if (revertOf(error)) {
      await clearFundingSubmitted({ id: task.id });
      throw simulationError(error);
    }
    throw new AppError(
      'unavailable:chain',
      'The transfer could not be submitted; post the same authorization again to retry.',
      {
        cause: safeChainCause(error),
      },
    );
  }
  let receipt;
  try {
    receipt = await client.waitForTransactionReceipt({ hash: txHash, timeout: getConfig().worker.receiptTimeoutMs });
  } catch (error) {
    throw new AppError(
      'unavailable:chain',
      `Transfer ${txHash} is not confirmed yet; post the same authorization again to see the result.`,
      {
        cause: safeChainCause(error),
        details: { txHash },
      },
    );
  }
  // Reverted although the simulation passed: someone submitted the authorization in between.
  if (receipt.status !== 'success') return adoptSubmitted(db, task, a, stored);
  return markFunded(db, task, a, stored, txHash);
}

/** The nonce is used on chain: fund the task from that transaction if it paid exactly this. */
async function adoptSubmitted(
  db: DbExecutor,
  task: TaskWithAgent,
  a: Authorization,
  stored: StoredFunding,
): Promise<Outcome> {
  const txHash = await readChain(() => findAuthorizationTransfer({ authorization: a, since: task.createdAt }));
  if (!txHash) {
    throw new AppError(
      'conflict:fund',
      `authorization nonce ${a.nonce} is already used or cancelled on chain without paying this task; sign a new authorization.`,
    );
  }
  getLogger().info({ taskId: task.id, txHash }, 'funding authorization was submitted by someone else; adopting it');
  return markFunded(db, task, a, stored, txHash);
}

async function markFunded(
  db: DbExecutor,
  task: TaskWithAgent,
  a: Authorization,
  stored: StoredFunding,
  txHash: Hex,
): Promise<Outcome> {
  const funded = await transitionTask({
    id: task.id,
    from: 'pending_payment',
    to: 'funded',
    set: {
      fundingTxHash: txHash,
      fundingAuthorization: stored,
      fundingNonce: a.nonce.toLowerCase(),
      fundedAt: new Date(),
    },
    db,
  });
  if (funded) return { txHash, task: { ...funded, agentAddress: task.agentAddress }, fresh: true };
  const current = await getTaskByIdIn(db, { id: task.id });
  if (current && current.fundingTxHash === txHash) return { txHash, task: current, fresh: false };
  if (current && current.status !== 'cancelled') return { error: conflictOf(current, a, stored.signature) };
  // A cancel (the user's, or the payment timeout's) won the race: keep the hash so the wallet
  // view can show the USDC as the user's to withdraw.
  await recordLateFundingTx(db, { id: task.id, txHash, nonce: a.nonce, authorization: stored });
  const now = await getTaskByIdIn(db, { id: task.id });
  return {
    error: new AppError(
      'conflict:task',
      `Task became ${now?.status ?? 'unavailable'} while the transfer ${txHash} was confirming; the USDC is in your agent wallet and can be withdrawn.`,
      {
        details: { status: now?.status, txHash },
      },
    ),
  };
}

function conflictOf(task: TaskWithAgent, a: Authorization, signature: Hex): AppError {
  try {
    replayOrConflict(task, a, signature);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  return new AppError('conflict:task', `Task is already ${task.status}.`, {
    details: { status: task.status, txHash: task.fundingTxHash },
  });
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
