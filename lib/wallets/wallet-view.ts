import { getAddress, type Address } from 'viem';
import { sumReservedUsdcByWallet } from '@/db/tasks';
import { updateWalletBalance } from '@/db/wallets';
import { sumLiveX402AuthorizationsByWallet } from '@/db/x402-payments';
import { getPublicClient } from '../chain/clients';
import { getUsdcBalance } from '../chain/usdc';
import { getOrCreateAgentWallet } from './agent-wallets';

export type WalletView = {
  userAddress: Address;
  agentAddress: Address;
  /** Decimal strings of base units (USDC 6 decimals, ETH wei). */
  usdcBalance: string;
  ethBalance: string;
  /** What funded/processing tasks still need for their remaining mints, and what live x402 authorizations could still move. */
  reservedUsdc: string;
  /** What the user may withdraw now: max(0, balance − reserved). */
  refundableUsdc: string;
};

export async function readWalletAmounts(agentWalletId: string, agentAddress: Address) {
  const [usdcBalance, ethBalance, tasksNeed, liveAuthorizations] = await Promise.all([
    getUsdcBalance(agentAddress),
    getPublicClient().getBalance({ address: agentAddress }),
    sumReservedUsdcByWallet({ agentWalletId }),
    // An x402 authorization of an ended task that the chain has not yet declared dead can still move this USDC.
    sumLiveX402AuthorizationsByWallet({ agentWalletId }),
  ]);
  const reserved = tasksNeed + liveAuthorizations;
  const refundable = usdcBalance > reserved ? usdcBalance - reserved : 0n;
  return { usdcBalance, ethBalance, reserved, refundable };
}

/** The view of a wallet's amounts (readWalletAmounts) in JSON: decimal strings of base units. */
export function walletViewOf(
  userAddress: string,
  agentAddress: Address,
  amounts: Awaited<ReturnType<typeof readWalletAmounts>>,
): WalletView {
  return {
    userAddress: getAddress(userAddress),
    agentAddress,
    usdcBalance: amounts.usdcBalance.toString(),
    ethBalance: amounts.ethBalance.toString(),
    reservedUsdc: amounts.reserved.toString(),
    refundableUsdc: amounts.refundable.toString(),
  };
}

/** The user's agent wallet (created if absent) with its on-chain balances and what is free. */
export async function getWalletView(userAddress: string): Promise<WalletView> {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const agentAddress = getAddress(wallet.agentAddress);
  const amounts = await readWalletAmounts(wallet.id, agentAddress);
  await updateWalletBalance({ id: wallet.id, usdcBalance: amounts.usdcBalance });
  return walletViewOf(userAddress, agentAddress, amounts);
}
