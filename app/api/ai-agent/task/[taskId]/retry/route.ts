import { requireSession } from '@/lib/auth/session';
import { json, parseWith, route, uuidParam } from '@/lib/http';
import { retryTask } from '@/lib/tasks/retry-task';
import { toTaskDto } from '@/lib/tasks/serialize';

export const dynamic = 'force-dynamic';

/** Puts a failed task back in the queue; 409 naming the status for any other state. */
export const POST = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = await requireSession(req);
  const task = await retryTask({ taskId, userAddress: session.address });
  return json({ task: toTaskDto(task) });
});
