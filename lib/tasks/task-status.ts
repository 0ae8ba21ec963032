import { listMintSummariesByTask } from '@/db/task-mints';
import { countX402PaymentsByTask } from '@/db/x402-payments';
import { listTasksByUser, type TaskWithAgent } from '@/db/tasks';
import type { TaskStatus } from '@/db/schema';
import { requireOwnedTask } from './owned-task';
import { toTaskDto } from './serialize';
import { listTaskClaims } from './x402-claims';

/**
 * A task as every reader of one task gets it — the task route, the chat, the MCP `task_status`
 * tool and resource: the DTO, its mint ledger (each mint's sequence, status and transaction)
 * and, for an x402 task, its payments (settled, still open, refused by the endpoint) and its
 * claims (payments the seller took without delivering, lib/tasks/x402-claims.ts).
 */
export async function readTaskStatus(task: TaskWithAgent) {
  const x402 = task.route === 'x402';
  const [mints, payments, claims] = await Promise.all([
    listMintSummariesByTask({ taskId: task.id }),
    x402 ? countX402PaymentsByTask({ taskId: task.id }) : undefined,
    x402 ? listTaskClaims({ taskId: task.id }) : undefined,
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
    ...(claims ? { claims } : {}),
  };
}

export type TaskStatusView = Awaited<ReturnType<typeof readTaskStatus>>;

/** One of the user's tasks as readTaskStatus shows it; another user's task is not found (lib/tasks/owned-task.ts). */
export async function getTaskStatus({ taskId, userAddress }: { taskId: string; userAddress: string }) {
  return readTaskStatus(await requireOwnedTask({ taskId, userAddress }));
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
