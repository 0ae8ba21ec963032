import { formatUnits } from 'viem';
import { attachAssistantKeySpend, releaseAssistantKeySpend, reserveAssistantKeySpend } from '@/db/assistant-keys';
import type { Task } from '@/db/schema';
import { AppError } from '../errors';
import type { TaskInsertGuard } from '../tasks/create-task';
import type { AssistantCaller } from './caller';

/**
 * The guard task creation runs its insert through when an assistant key creates the task: the
 * task's whole cost must fit in what is left of the key's daily cap (rolling 24 hours, tasks
 * cancelled before any money moved not counted). The reservation and the check happen under
 * one per-key lock, so parallel creations cannot overshoot; the use is logged with the task.
 */
export function dailyCapGuard(caller: AssistantCaller, action: string): TaskInsertGuard {
  return async <T extends Task>(totalCost: bigint, insert: () => Promise<T>): Promise<T> => {
    const reserved = await reserveAssistantKeySpend({
      keyId: caller.keyId,
      action,
      amount: totalCost,
      cap: caller.dailyCapUsdc,
    });
    if (!reserved.ok) {
      const left = caller.dailyCapUsdc > reserved.spent ? caller.dailyCapUsdc - reserved.spent : 0n;
      throw new AppError(
        'forbidden:daily_cap',
        `This task would cost ${formatUnits(totalCost, 6)} USDC, more than the ${formatUnits(left, 6)} USDC left of this assistant key's daily cap (${formatUnits(caller.dailyCapUsdc, 6)} USDC per 24 hours). Ask for fewer mints, or the user can raise the cap with a new key.`,
        {
          details: {
            dailyCapUsdc: caller.dailyCapUsdc.toString(),
            spentUsdc: reserved.spent.toString(),
            leftUsdc: left.toString(),
          },
        },
      );
    }
    try {
      const task = await insert();
      await attachAssistantKeySpend({ id: reserved.id, taskId: task.id });
      return task;
    } catch (error) {
      await releaseAssistantKeySpend({ id: reserved.id });
      throw error;
    }
  };
}
