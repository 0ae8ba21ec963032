import { listTasksByUser } from '@/db/tasks';
import { requireSameUser, requireSession } from '@/lib/auth/session';
import { addressParam, json, parseWith, readLimit, route } from '@/lib/http';
import { toTaskDto } from '@/lib/tasks/serialize';

export const dynamic = 'force-dynamic';

/** The signed-in user's tasks, newest first (`?limit=` 1–100, default 10). */
export const GET = route<{ userAddress: string }>(async (req, { params }) => {
  const userAddress = parseWith(addressParam, (await params).userAddress, 'bad_request:user_address');
  const limit = readLimit(req, 10);
  const session = await requireSession(req);
  requireSameUser(session, userAddress, 'tasks');
  const tasks = await listTasksByUser({ userAddress, limit });
  return json({ tasks: tasks.map(toTaskDto) });
});
