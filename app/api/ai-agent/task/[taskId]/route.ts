import { requireSession } from '@/lib/auth/session';
import { json, parseWith, route, uuidParam } from '@/lib/http';
import { getFundingRequest } from '@/lib/tasks/funding-request';
import { requireOwnedTask } from '@/lib/tasks/owned-task';
import { readTaskStatus } from '@/lib/tasks/task-status';

export const dynamic = 'force-dynamic';

/**
 * One of the user's tasks with its mints, an x402 task's payments and claims (the same reading
 * as the chat and the MCP `task_status` tool: lib/tasks/task-status.ts), and while it awaits
 * payment the typed data to sign.
 */
export const GET = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = await requireSession(req);
  const task = await requireOwnedTask({ taskId, userAddress: session.address });
  const [{ task: dto, ...status }, fundingRequest] = await Promise.all([readTaskStatus(task), getFundingRequest(task)]);
  return json({ task: { ...dto, ...status, fundingRequest } });
});
