import { json, parseWith, route, uuidParam } from '@/lib/http';
import { cancelTask } from '@/lib/tasks/cancel-task';
import { toTaskDto } from '@/lib/tasks/serialize';
import { requireSoldTaskPayer } from '@/lib/x402-seller/sale-access';

export const dynamic = 'force-dynamic';

/**
 * Cancels a task bought over x402 (task token as bearer): funded → cancelled now, processing →
 * after the batch in flight; 409 once it has ended. Unspent USDC stays in the payer's agent wallet.
 */
export const POST = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const payer = await requireSoldTaskPayer(req, taskId);
  return json({ task: toTaskDto(await cancelTask({ taskId, userAddress: payer })) });
});
