import { listMintSummariesByTask } from '@/db/task-mints';
import { listTasksByUser } from '@/db/tasks';
import type { TaskStatus } from '@/db/schema';
import { requireOwnedTask } from './owned-task';
import { toTaskDto } from './serialize';

/**
 * One of the user's tasks with its mint ledger (each mint's sequence, status and transaction):
 * what the task page, the chat and the MCP `task_status` tool show. Another user's task is
 * not found (lib/tasks/owned-task.ts).
 */
export async function getTaskStatus({ taskId, userAddress }: { taskId: string; userAddress: string }) {
  const task = await requireOwnedTask({ taskId, userAddress });
  const mints = await listMintSummariesByTask({ taskId: task.id });
  return { task: toTaskDto(task), mints };
}

export const MAX_LISTED_TASKS = 20;

/** The user's newest tasks (at most 20, default 5), optionally in one status. */
export async function listUserTasks({
  userAddress,
  limit,
  status,
}: {
  userAddress: string;
  limit?: number;
  status?: TaskStatus;
}) {
  const rows = await listTasksByUser({
    userAddress,
    limit: Math.min(MAX_LISTED_TASKS, Math.max(1, Math.trunc(limit ?? 5))),
    status: status ? [status] : undefined,
  });
  return rows.map(toTaskDto);
}
