import { clearedSessionCookie } from '@/lib/auth/cookie';
import { endAllSessions, requireSession } from '@/lib/auth/session';
import { json, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** Sign out everywhere: revokes every session of the signed-in user, on every device. */
export const POST = route(async (req) => {
  const session = await requireSession(req);
  const revoked = await endAllSessions(session);
  return json({ ok: true, revoked }, { headers: { 'set-cookie': clearedSessionCookie() } });
});
