import { formatUnits, getAddress, type Address } from 'viem';
import { AppError } from '../errors';
import type { ProbeTarget } from '../x402/probe';
import type { SellerWarning } from '../x402/seller-reputation';
import { validateMintToken } from './create-task';
import { publicMintsPerPayment } from './serialize';
import { quoteX402Endpoint } from './create-x402-task';

export type MintQuote = {
  route: 'contract' | 'x402';
  token: { address: Address; name: string; symbol: string };
  quantity: number;
  /** USDC base units. */
  pricePerMint: bigint;
  totalCost: bigint;
  /** For an x402 endpoint: its host and public terms (never the URL's path or query). */
  endpoint?: {
    host: string;
    version: 1 | 2;
    network: string;
    payTo: Address;
    /** How many mints one payment buys and why (a seller that prices a quantity; lib/x402/bulk-pricing.ts). */
    mintsPerPayment: ReturnType<typeof publicMintsPerPayment>;
  };
  /** For a token contract: mints it has left. */
  remaining?: bigint;
  /** For an x402 seller that took payment without delivering before (anyone's): the record, and what to tell the user. */
  sellerWarning?: SellerWarning;
};

/**
 * What N mints of a token or from an x402 endpoint would cost, with the same checks and refusals
 * as creating the task (the chat's and the MCP `quote` tool), and nothing stored or paid. Give
 * exactly one of `tokenAddress` (a PaidMintToken) or `url` (an x402 endpoint; `tokenAddress`
 * then names the token it sells, if its terms do not).
 */
export async function quoteMint(
  input: { tokenAddress?: string; url?: string; quantity: number; userAddress?: string; recipient?: Address },
  target?: ProbeTarget,
): Promise<MintQuote> {
  if (input.url) {
    const { probe, pricePerMint, totalCost, sellerWarning } = await quoteX402Endpoint(
      { ...input, url: input.url },
      target,
    );
    return {
      route: 'x402',
      token: { address: getAddress(probe.token.address), name: probe.token.name, symbol: probe.token.symbol },
      quantity: input.quantity,
      pricePerMint,
      totalCost,
      endpoint: {
        host: probe.host,
        version: probe.terms.version,
        network: probe.terms.requirement.network,
        payTo: getAddress(probe.terms.requirement.payTo),
        mintsPerPayment: publicMintsPerPayment(probe.terms),
      },
      ...(sellerWarning && { sellerWarning }),
    };
  }
  if (!input.tokenAddress) {
    throw new AppError(
      'bad_request:quote',
      'Say what to mint: a token contract address (0x…) or the URL of an x402 mint endpoint.',
    );
  }
  const info = await validateMintToken(input.tokenAddress, input.quantity);
  return {
    route: 'contract',
    token: { address: info.address, name: info.name, symbol: info.symbol },
    quantity: input.quantity,
    pricePerMint: info.pricePerMint,
    totalCost: info.pricePerMint * BigInt(input.quantity),
    remaining: info.maxMintCount > info.mintCount ? info.maxMintCount - info.mintCount : 0n,
  };
}

/** A quote as JSON: base units as decimal strings, and USDC amounts a person reads. */
export function toQuoteDto(quote: MintQuote) {
  return {
    route: quote.route,
    token: quote.token,
    quantity: quote.quantity,
    pricePerMint: quote.pricePerMint.toString(),
    totalCost: quote.totalCost.toString(),
    pricePerMintUsdc: formatUnits(quote.pricePerMint, 6),
    totalCostUsdc: formatUnits(quote.totalCost, 6),
    ...(quote.endpoint ? { endpoint: quote.endpoint } : {}),
    ...(quote.remaining !== undefined ? { remaining: quote.remaining.toString() } : {}),
    ...(quote.sellerWarning ? { sellerWarning: quote.sellerWarning } : {}),
  };
}
export type QuoteDto = ReturnType<typeof toQuoteDto>;
