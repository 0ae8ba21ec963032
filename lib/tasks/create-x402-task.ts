import { getAddress, type Address } from 'viem';
import { getTaskById, insertTask, type TaskWithAgent } from '@/db/tasks';
import { getChain } from '../chain/clients';
import { AppError } from '../errors';
import { getOrCreateAgentWallet } from '../wallets/agent-wallets';
import type { Erc20Info } from '../x402/onchain';
import { probeX402Endpoint, type ProbeTarget } from '../x402/probe';
import { MAX_QUANTITY, MIN_QUANTITY } from './create-task';
import { checkMinTaskValue } from './task-value';

export type X402TaskCreated = TaskWithAgent & { token: Erc20Info; host: string };

/**
 * Creates a pending_payment task that buys `quantity` mints from an x402 endpoint: one paid
 * request per mint at the price the probe read, so the user funds amount × quantity with the
 * same one signature as a contract task. Everything is checked (quantity, URL, 402 terms,
 * token) before the agent wallet or the task is written.
 */
export async function createX402Task(
  {
    userAddress,
    url,
    quantity,
    tokenAddress,
  }: { userAddress: Address | string; url: string; quantity: number; tokenAddress?: string },
  target?: ProbeTarget,
): Promise<X402TaskCreated> {
  if (!Number.isInteger(quantity) || quantity < MIN_QUANTITY || quantity > MAX_QUANTITY) {
    throw new AppError('bad_request:task', `Quantity must be a whole number from ${MIN_QUANTITY} to ${MAX_QUANTITY}.`);
  }
  const probe = await probeX402Endpoint({ url, userAddress, tokenAddress }, target);
  if (!probe.token) {
    throw new AppError(
      'bad_request:x402',
      `Which token does ${probe.host} sell? Its payment terms do not say; send me the token's contract address (0x…).`,
      {
        details: { reason: 'token_unknown' },
      },
    );
  }
  const wallet = await getOrCreateAgentWallet(userAddress);
  const pricePerMint = BigInt(probe.terms.requirement.amount);
  checkMinTaskValue({ pricePerMint, quantity });
  const inserted = await insertTask({
    userAddress: userAddress.toLowerCase(),
    agentWalletId: wallet.id,
    chainId: target?.chainId ?? getChain().id,
    tokenAddress: probe.token.address.toLowerCase(),
    route: 'x402',
    x402: probe.terms,
    quantity,
    pricePerMint: pricePerMint.toString(),
    totalCost: (pricePerMint * BigInt(quantity)).toString(),
  });
  const task = await getTaskById({ id: inserted.id });
  if (!task) throw new Error(`task ${inserted.id} vanished right after insert`);
  return { ...task, token: { ...probe.token, address: getAddress(probe.token.address) }, host: probe.host };
}
