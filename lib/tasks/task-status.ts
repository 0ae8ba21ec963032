import { listMintSummariesByTask } from '@/db/task-mints';
import { countX402PaymentsByTask } from '@/db/x402-payments';
import { listTasksByUser } from '@/db/tasks';
import type { TaskStatus } from '@/db/schema';
import { requireOwnedTask } from './owned-task';
import { toTaskDto } from './serialize';

/**
 * One of the user's tasks with its mint ledger (each mint's sequence, status and transaction)
 * and, for an x402 task, its payments (settled, still open, refused by the endpoint): what the
 * chat and the MCP `task_status` tool show. Another user's task is not found
 * (lib/tasks/owned-task.ts).
 */
export async function getTaskStatus({ taskId, userAddress }: { taskId: string; userAddress: string }) {
  const task = await requireOwnedTask({ taskId, userAddress });
  const [mints, payments] = await Promise.all([
    listMintSummariesByTask({ taskId: task.id }),
    task.route === 'x402' ? countX402PaymentsByTask({ taskId: task.id }) : undefined,
  ]);
  return {
    task: toTaskDto(task),
    mints,
    ...(payments
      ? {
          payments: {
            settled: payments.settled,
            open: payments.open,
            refused: payments.refused,
            settledAmount: payments.settledAmount.toString(),
          },
        }
      : {}),
  };
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
