import { revokeUserAssistantKey } from '@/lib/assistant-keys/keys';
import { requireSession } from '@/lib/auth/session';
import { json, parseWith, route, uuidParam } from '@/lib/http';

export const dynamic = 'force-dynamic';

/** Revokes one of the user's assistant keys: every later request with it gets 401. Idempotent. */
export const POST = route<{ keyId: string }>(async (req, { params }) => {
  const keyId = parseWith(uuidParam, (await params).keyId, 'bad_request:assistant_key_id');
  const session = await requireSession(req);
  return json({ key: await revokeUserAssistantKey({ id: keyId, userAddress: session.address }) });
});
