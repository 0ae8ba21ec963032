import { json, parseWith, route, uuidParam } from '@/lib/http';
import { getTaskStatus } from '@/lib/tasks/task-status';
import { requireSoldTaskPayer } from '@/lib/x402-seller/sale-access';

export const dynamic = 'force-dynamic';

/**
 * A task bought over x402, for its payer: `Authorization: Bearer <task token>` from the purchase.
 * The task with its mints (and an x402 task's payments), as the MCP `task_status` tool shows it.
 */
export const GET = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const payer = await requireSoldTaskPayer(req, taskId);
  return json(await getTaskStatus({ taskId, userAddress: payer }));
});
