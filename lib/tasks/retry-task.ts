import { getTaskByIdForUser, transitionTask, wakeWorkers, type TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';

/**
 * Puts a failed task back in the queue (failed → funded) with a clean slate for the worker:
 * no error, no backoff, no lease, attempts reset, `retries` counted. Mints already done stay
 * done; their mintIds are deterministic so the worker never repeats one.
 */
export async function retryTask({ taskId, userAddress }: { taskId: string; userAddress: string }): Promise<TaskWithAgent> {
  const task = await getTaskByIdForUser({ id: taskId, userAddress });
  if (!task) throw new AppError('not_found:task', 'No such task.');
  if (task.status !== 'failed') {
    throw new AppError('conflict:task', `Only a failed task can be retried; this one is ${task.status}.`, {
      details: { status: task.status },
    });
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
  if (!moved) {
    const now = await getTaskByIdForUser({ id: taskId, userAddress });
    throw new AppError('conflict:task', `Only a failed task can be retried; this one is ${now?.status ?? 'gone'}.`, {
      details: { status: now?.status },
    });
  }
  await wakeWorkers(task.id);
  return (await getTaskByIdForUser({ id: taskId, userAddress }))!;
}
