import { parseUnits } from 'viem';
import { createAssistantKey, listAssistantKeys } from '@/lib/assistant-keys/keys';
import { requireSession } from '@/lib/auth/session';
import { json, readJson, route } from '@/lib/http';
import { enforceRateLimits } from '@/lib/rate-limit';
import { createKeyBodySchema } from './schema';

export const dynamic = 'force-dynamic';

const CREATE_LIMIT = { limit: 10, windowMs: 60_000 };

/** The signed-in user's assistant keys (never a token), what each spent in 24 h, and their latest uses. */
export const GET = route(async (req) => {
  const session = await requireSession(req);
  return json(await listAssistantKeys(session.address));
});

/**
 * Creates an assistant key for the signed-in user. The answer carries the token, once: only its
 * SHA-256 is stored, so it can never be shown again.
 */
export const POST = route(async (req) => {
  const session = await requireSession(req);
  const body = await readJson(req, createKeyBodySchema, 'assistant_key');
  await enforceRateLimits([{ key: `assistant_key:address:${session.address.toLowerCase()}`, ...CREATE_LIMIT }]);
  const created = await createAssistantKey({
    userAddress: session.address,
    name: body.name,
    scopes: body.scopes,
    dailyCapUsdc: parseUnits(body.dailyCapUsdc, 6),
    expiresInDays: body.expiresInDays,
  });
  return json(created, { status: 201 });
});
