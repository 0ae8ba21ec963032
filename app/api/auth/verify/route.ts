import type { Hex } from 'viem';
import { startSession } from '@/lib/auth/session';
import { claimedAddress, verifySiwe } from '@/lib/auth/siwe';
import { json, readJson, route } from '@/lib/http';
import { enforceRateLimits, ipRateLimit } from '@/lib/rate-limit';
import { AUTH_LIMIT } from '../limits';
import { verifyBodySchema } from './schema';

export const dynamic = 'force-dynamic';

/** Checks a signed EIP-4361 message and starts the session cookie; any failed check is a 401. */
export const POST = route(async (req) => {
  const body = await readJson(req, verifyBodySchema, 'auth');
  const claimed = claimedAddress(body.message);
  await enforceRateLimits([
    ipRateLimit('auth:verify', req, AUTH_LIMIT),
    ...(claimed ? [{ key: `auth:verify:address:${claimed}`, ...AUTH_LIMIT }] : []),
  ]);
  const { address, chainId } = await verifySiwe({ message: body.message, signature: body.signature as Hex });
  const { setCookie } = await startSession({ address, chainId });
  return json({ address, chainId }, { headers: { 'set-cookie': setCookie } });
});
