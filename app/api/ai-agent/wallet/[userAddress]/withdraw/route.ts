import { requireSameUser, requireSession } from '@/lib/auth/session';
import { addressParam, json, parseWith, readJson, route } from '@/lib/http';
import { enforceRateLimits, ipRateLimit } from '@/lib/rate-limit';
import { withdrawRefundable } from '@/lib/wallets/withdraw';
import { withdrawBodySchema } from './schema';

export const dynamic = 'force-dynamic';

const WITHDRAW_LIMIT = { limit: 10, windowMs: 60_000 };

/** Sends leftover USDC from the agent wallet back to the signed-in user's own address. */
export const POST = route<{ userAddress: string }>(async (req, { params }) => {
  const userAddress = parseWith(addressParam, (await params).userAddress, 'bad_request:user_address');
  const session = await requireSession(req);
  // An empty JSON body (or {}) withdraws everything refundable.
  const body = await readJson(req, withdrawBodySchema, 'withdraw', { emptyAs: {} });
  requireSameUser(session, userAddress, 'wallet');
  await enforceRateLimits([
    { key: `withdraw:address:${session.address.toLowerCase()}`, ...WITHDRAW_LIMIT },
    ipRateLimit('withdraw', req, WITHDRAW_LIMIT),
  ]);
  const result = await withdrawRefundable({
    userAddress: session.address,
    amount: body.amount ? BigInt(body.amount) : undefined,
  });
  return json({ txHash: result.txHash, amount: result.amount.toString() });
});
