import { listChatMessagesByUser } from '@/db/chats';
import { toUIMessage } from '@/lib/ai/run-chat';
import { requireSameUser, requireSession } from '@/lib/auth/session';
import { addressParam, json, parseWith, readLimit, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** The signed-in user's chat, oldest first, as UI messages `useChat` can start from (`?limit=` 1–100, default 50). */
export const GET = route<{ userAddress: string }>(async (req, { params }) => {
  const userAddress = parseWith(addressParam, (await params).userAddress, 'bad_request:user_address');
  const limit = readLimit(req, 50);
  const session = await requireSession(req);
  requireSameUser(session, userAddress, 'history');
  const rows = await listChatMessagesByUser({ userAddress, limit });
  return json({ messages: rows.map(toUIMessage) });
});
