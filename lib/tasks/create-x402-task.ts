import { getAddress, zeroAddress, type Address } from 'viem';
import type { TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';
import type { Erc20Info } from '../x402/onchain';
import { probeX402Endpoint, type ProbeResult, type ProbeTarget } from '../x402/probe';
import { getSellerWarning, type SellerWarning } from '../x402/seller-reputation';
import { checkQuantity, insertCheckedTask, unguardedInsert, type TaskInsertGuard } from './create-task';
import { checkMinTaskValue } from './task-value';

export type X402TaskCreated = TaskWithAgent & { token: Erc20Info; host: string; sellerWarning?: SellerWarning };

/**
 * What buying `quantity` mints from an x402 endpoint would cost, checked as creation checks it
 * (quantity, URL, 402 terms, token, minimum value) without storing or paying anything. The probe
 * POSTs one unpaid request naming as recipient `recipient` (an x402 sale's), else `userAddress`
 * (the zero address for a quote nobody is signed in for). A seller that took payment without
 * delivering before, from anyone, comes with a warning (lib/x402/seller-reputation.ts); it is not
 * refused.
 */
export async function quoteX402Endpoint(
  {
    userAddress,
    url,
    quantity,
    tokenAddress,
    recipient,
  }: { userAddress?: string; url: string; quantity: number; tokenAddress?: string; recipient?: Address },
  target?: ProbeTarget,
): Promise<{
  probe: ProbeResult & { token: Erc20Info };
  pricePerMint: bigint;
  totalCost: bigint;
  sellerWarning?: SellerWarning;
}> {
  checkQuantity(quantity);
  const probe = await probeX402Endpoint(
    { url, userAddress: userAddress ?? zeroAddress, tokenAddress, recipient },
    target,
  );
  if (!probe.token) {
    throw new AppError(
      'bad_request:x402',
      `Which token does ${probe.host} sell? Its payment terms do not say; send me the token's contract address (0x…).`,
      {
        details: { reason: 'token_unknown' },
      },
    );
  }
  const pricePerMint = BigInt(probe.terms.requirement.amount);
  checkMinTaskValue({ pricePerMint, quantity });
  const sellerWarning = await getSellerWarning({ payTo: probe.terms.requirement.payTo, host: probe.host });
  return {
    probe: { ...probe, token: probe.token },
    pricePerMint,
    totalCost: pricePerMint * BigInt(quantity),
    ...(sellerWarning && { sellerWarning }),
  };
}

/**
 * Creates a pending_payment task that buys `quantity` mints from an x402 endpoint: one paid
 * request per mint at the price the probe read, so the user funds amount × quantity with the
 * same one signature as a contract task. Everything is checked (quantity, URL, 402 terms,
 * token) before the agent wallet or the task is written. Its tokens go to the user, or to
 * `recipient` (only an x402 sale names one, fixed for the task's life): the endpoint mints to
 * it where it takes a recipient, else the agent receives and forwards to it (worker/x402/delivery.ts).
 */
export async function createX402Task(
  {
    userAddress,
    url,
    quantity,
    tokenAddress,
    recipient,
    guard = unguardedInsert,
  }: {
    userAddress: Address | string;
    url: string;
    quantity: number;
    tokenAddress?: string;
    recipient?: Address;
    guard?: TaskInsertGuard;
  },
  target?: ProbeTarget,
): Promise<X402TaskCreated> {
  const { probe, pricePerMint, sellerWarning } = await quoteX402Endpoint(
    { userAddress, url, quantity, tokenAddress, recipient },
    target,
  );
  const task = await insertCheckedTask(
    {
      userAddress,
      recipient,
      tokenAddress: probe.token.address,
      quantity,
      pricePerMint,
      chainId: target?.chainId,
      x402: probe.terms,
    },
    guard,
  );
  return {
    ...task,
    token: { ...probe.token, address: getAddress(probe.token.address) },
    host: probe.host,
    ...(sellerWarning && { sellerWarning }),
  };
}
