import { getTaskByIdForUser, type TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';

/**
 * The task if `userAddress` owns it. Someone else's task answers exactly like a missing one
 * (404), so the API never confirms that another user's task exists.
 */
export async function requireOwnedTask({
  taskId,
  userAddress,
}: {
  taskId: string;
  userAddress: string;
}): Promise<TaskWithAgent> {
  const task = await getTaskByIdForUser({ id: taskId, userAddress });
  if (!task) throw new AppError('not_found:task', 'No such task.');
  return task;
}
