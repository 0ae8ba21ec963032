import { clearedSessionCookie } from '@/lib/auth/cookie';
import { endSession } from '@/lib/auth/session';
import { json, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** Ends this session: revoked server-side (the cookie is dead even if kept) and cleared. */
export const POST = route(async (req) => {
  await endSession(req);
  return json({ ok: true }, { headers: { 'set-cookie': clearedSessionCookie() } });
});
