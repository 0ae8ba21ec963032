import { requireSameUser, requireSession } from '@/lib/auth/session';
import { addressParam, json, parseWith, readJson, route } from '@/lib/http';
import { enforceIpRateLimit, enforceRateLimit } from '@/lib/rate-limit';
import { withdrawRefundable } from '@/lib/wallets/withdraw';
import { withdrawBodySchema } from './schema';

export const dynamic = 'force-dynamic';

const WITHDRAW_LIMIT = { limit: 10, windowMs: 60_000 };

/** The body is optional: no body (and no content type) withdraws everything refundable. */
async function readBody(req: Request) {
  if (!req.headers.get('content-type') && (!req.body || req.headers.get('content-length') === '0')) return {};
  return readJson(req, withdrawBodySchema, 'withdraw');
}

/** Sends leftover USDC from the agent wallet back to the signed-in user's own address. */
export const POST = route<{ userAddress: string }>(async (req, { params }) => {
  const userAddress = parseWith(addressParam, (await params).userAddress, 'bad_request:user_address');
  const body = await readBody(req);
  const session = await requireSession(req);
  requireSameUser(session, userAddress, 'wallet');
  enforceRateLimit(`withdraw:address:${session.address.toLowerCase()}`, WITHDRAW_LIMIT);
  enforceIpRateLimit('withdraw', req, WITHDRAW_LIMIT);
  const result = await withdrawRefundable({ userAddress: session.address, amount: body.amount ? BigInt(body.amount) : undefined });
  return json({ txHash: result.txHash, amount: result.amount.toString() });
});
