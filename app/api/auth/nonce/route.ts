import { issueNonce } from '@/lib/auth/siwe';
import { json, route } from '@/lib/http';
import { enforceIpRateLimit } from '@/lib/rate-limit';
import { AUTH_LIMIT } from '../limits';

export const dynamic = 'force-dynamic';

/** A single-use nonce for the Sign-In with Ethereum message. */
export const GET = route(async (req) => {
  await enforceIpRateLimit('auth:nonce', req, AUTH_LIMIT);
  return json(await issueNonce());
});
