import { requireSameUser, requireSession } from '@/lib/auth/session';
import { addressParam, json, parseWith, route } from '@/lib/http';
import { getWalletView } from '@/lib/wallets/wallet-view';

export const dynamic = 'force-dynamic';

/** The user's agent wallet: address, USDC and ETH balances, reserved and refundable USDC. */
export const GET = route<{ userAddress: string }>(async (req, { params }) => {
  const userAddress = parseWith(addressParam, (await params).userAddress, 'bad_request:user_address');
  const session = await requireSession(req);
  requireSameUser(session, userAddress, 'wallet');
  return json(await getWalletView(session.address));
});
