import { requireSession } from '@/lib/auth/session';
import { json, route } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** The signed-in address, or 401. */
export const GET = route(async (req) => {
  const session = await requireSession(req);
  return json({
    address: session.address,
    chainId: session.chainId,
    expiresAt: new Date(session.expiresAt * 1000).toISOString(),
  });
});
