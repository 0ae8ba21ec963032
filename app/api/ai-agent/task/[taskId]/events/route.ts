import { requireSession } from '@/lib/auth/session';
import { parseWith, route, uuidParam } from '@/lib/http';
import { requireOwnedTask } from '@/lib/tasks/owned-task';
import { createTaskEventStream } from '@/lib/tasks/task-event-stream';

export const dynamic = 'force-dynamic';

/** Server-sent events with the task's status and progress until it reaches a final status. */
export const GET = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = await requireSession(req);
  await requireOwnedTask({ taskId, userAddress: session.address });
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
