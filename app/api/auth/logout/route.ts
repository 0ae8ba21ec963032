import { clearedSessionCookie } from '@/lib/auth/session';
import { json, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** Ends the session by expiring the cookie (sessions are stateless; nothing to delete). */
export const POST = route(async () => json({ ok: true }, { headers: { 'set-cookie': clearedSessionCookie() } }));
