import type { Hex } from 'viem';
import { startSession } from '@/lib/auth/session';
import { verifySiwe } from '@/lib/auth/siwe';
import { json, readJson, route } from '@/lib/http';
import { enforceIpRateLimit, enforceRateLimit } from '@/lib/rate-limit';
import { AUTH_LIMIT } from '../limits';
import { verifyBodySchema } from './schema';

export const dynamic = 'force-dynamic';

/** Checks a signed EIP-4361 message and starts the session cookie; any failed check is a 401. */
export const POST = route(async (req) => {
  const body = await readJson(req, verifyBodySchema, 'auth');
  await enforceIpRateLimit('auth:verify', req, AUTH_LIMIT);
  const { address, chainId } = await verifySiwe({ message: body.message, signature: body.signature as Hex });
  // Counted per address only once the signature and nonce check out: anyone can name an address
  // in a message, and counting those would let a stranger lock its owner out of signing in.
  await enforceRateLimit(`auth:verify:address:${address.toLowerCase()}`, AUTH_LIMIT);
  const { setCookie } = await startSession({ address, chainId });
  return json({ address, chainId }, { headers: { 'set-cookie': setCookie } });
});
