import { requireSession } from '@/lib/auth/session';
import { json, parseWith, route, uuidParam } from '@/lib/http';
import { cancelTask } from '@/lib/tasks/cancel-task';
import { toTaskDto } from '@/lib/tasks/serialize';

export const dynamic = 'force-dynamic';

/** Cancels now (awaiting payment, funded) or after the batch in flight (processing); 409 otherwise. */
export const POST = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = await requireSession(req);
  const task = await cancelTask({ taskId, userAddress: session.address });
  return json({ task: toTaskDto(task) });
});
