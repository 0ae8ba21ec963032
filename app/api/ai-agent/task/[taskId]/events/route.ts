import { getTaskByIdForUser } from '@/db/tasks';
import { requireSession } from '@/lib/auth/session';
import { AppError } from '@/lib/errors';
import { parseWith, route, uuidParam } from '@/lib/http';
import { createTaskEventStream } from '@/lib/tasks/task-event-stream';

export const dynamic = 'force-dynamic';

/** Server-sent events with the task's status and progress until it reaches a final status. */
export const GET = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = requireSession(req);
  const task = await getTaskByIdForUser({ id: taskId, userAddress: session.address });
  if (!task) throw new AppError('not_found:task', 'No such task.');
  const stream = createTaskEventStream({ taskId, userAddress: session.address, signal: req.signal });
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  });
});
