import { getAddress } from 'viem';
import { getTaskByIdForUser, transitionTask, wakeWorkers, type TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';
import { requireOwnedTask } from './owned-task';
import { withWalletLock } from '../wallets/wallet-lock';
import { readWalletAmounts } from '../wallets/wallet-view';

const notFailed = (status: string | undefined) =>
  new AppError('conflict:task', `Only a failed task can be retried; this one is ${status ?? 'gone'}.`, {
    details: { status },
  });

/**
 * Puts a failed task back in the queue (failed → funded) with a clean slate for the worker:
 * no error, no backoff, no lease, attempts reset, `retries` counted. Mints already done stay
 * done; their mintIds are deterministic so the worker never repeats one. Refused when the
 * USDC its remaining mints need is no longer free in the agent wallet (withdrawn meanwhile);
 * the check and the transition hold the wallet lock a withdrawal takes, so neither can slip in.
 */
export async function retryTask({
  taskId,
  userAddress,
}: {
  taskId: string;
  userAddress: string;
}): Promise<TaskWithAgent> {
  const task = await requireOwnedTask({ taskId, userAddress });
  if (task.status !== 'failed') throw notFailed(task.status);

  await withWalletLock({ id: task.agentWalletId, agentAddress: task.agentAddress }, async () => {
    const needed = BigInt(task.quantity - task.mintsCompleted) * BigInt(task.pricePerMint);
    const { refundable } = await readWalletAmounts(task.agentWalletId, getAddress(task.agentAddress));
    if (refundable < needed) {
      throw new AppError(
        'conflict:task',
        `The agent wallet has ${refundable} USDC base units free but this task needs ${needed} to finish; it was probably withdrawn.`,
        {
          details: { status: task.status, neededUsdc: needed.toString(), freeUsdc: refundable.toString() },
        },
      );
    }
    const moved = await transitionTask({
      id: task.id,
      from: 'failed',
      to: 'funded',
      set: {
        errorMessage: null,
        attempts: 0,
        nextAttemptAt: null,
        lockedBy: null,
        lockedUntil: null,
        cancelRequested: false,
        completedAt: null,
        retries: task.retries + 1,
      },
    });
    if (!moved) throw notFailed((await getTaskByIdForUser({ id: taskId, userAddress }))?.status);
  });
  await wakeWorkers(task.id);
  return (await getTaskByIdForUser({ id: taskId, userAddress }))!;
}
