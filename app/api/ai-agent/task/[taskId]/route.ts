import { listMintSummariesByTask } from '@/db/task-mints';
import { requireSession } from '@/lib/auth/session';
import { json, parseWith, route, uuidParam } from '@/lib/http';
import { getFundingRequest } from '@/lib/tasks/funding-request';
import { requireOwnedTask } from '@/lib/tasks/owned-task';
import { toTaskDto } from '@/lib/tasks/serialize';
import { listTaskClaims } from '@/lib/tasks/x402-claims';

export const dynamic = 'force-dynamic';

/** One of the user's tasks, its mints, an x402 task's claims, and while it awaits payment the typed data to sign. */
export const GET = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task_id');
  const session = await requireSession(req);
  const task = await requireOwnedTask({ taskId, userAddress: session.address });
  const [fundingRequest, mints, claims] = await Promise.all([
    getFundingRequest(task),
    listMintSummariesByTask({ taskId: task.id }),
    task.route === 'x402' ? listTaskClaims({ taskId: task.id }) : undefined,
  ]);
  return json({
    task: { ...toTaskDto(task), ...(claims && { claims }), fundingRequest, mints },
  });
});
