import { transitionTask, type TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';
import { requireOwnedTask } from './owned-task';

// A task moves while we look at it (the worker claims funded tasks, finishes processing ones),
// so each step is a guarded transition and a lost race re-reads and decides again.
const MAX_ATTEMPTS = 3;

/**
 * Cancels the user's task: awaiting payment or funded → cancelled at once; processing → the
 * cancel is requested and the worker stops after the batch in flight, then marks it cancelled.
 */
export async function cancelTask({
  taskId,
  userAddress,
}: {
  taskId: string;
  userAddress: string;
}): Promise<TaskWithAgent> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const task = await requireOwnedTask({ taskId, userAddress });
    switch (task.status) {
      case 'pending_payment':
      case 'funded': {
        const moved = await transitionTask({
          id: task.id,
          from: task.status,
          to: 'cancelled',
          set: { completedAt: new Date(), lockedBy: null, lockedUntil: null },
        });
        if (moved) return requireOwnedTask({ taskId, userAddress });
        break;
      }
      case 'processing': {
        if (task.cancelRequested) return task;
        // Same-status guarded update: only flips the flag while the task is still processing.
        const flagged = await transitionTask({
          id: task.id,
          from: 'processing',
          to: 'processing',
          set: { cancelRequested: true },
        });
        if (flagged) return requireOwnedTask({ taskId, userAddress });
        break;
      }
      default:
        throw new AppError('conflict:task', `Task is already ${task.status}.`, { details: { status: task.status } });
    }
  }
  const task = await requireOwnedTask({ taskId, userAddress });
  throw new AppError('conflict:task', `Task changed while cancelling; it is now ${task.status}. Try again.`, {
    details: { status: task.status },
  });
}
