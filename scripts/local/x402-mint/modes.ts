import { X402_V1_NAMES } from '@/lib/chain/networks';
/**
 * How the local x402 mint server behaves, for tests and demos. Chosen per server (option,
 * X402_MINT_MODE) or per request (`?mode=`), so one server can sell to tasks of every kind.
 * Misbehaving modes hit the first paid request of each group of `every` (default 3).
 */
export const X402_MINT_MODES = [
  /** x402 v2 via @x402/express: PAYMENT-REQUIRED header, PAYMENT-SIGNATURE, PAYMENT-RESPONSE. */
  'v2',
  /** x402 v1 like the seed's upstream server: JSON `accepts[]` without `extra`, X-PAYMENT; needs a chain id with a v1 name (84532). */
  'v1',
  /** 429 before looking at the payment (it stays unused), alternately with Retry-After and a "wait N seconds" body. */
  'rate-limit',
  /** Settles and mints, then answers 500. */
  'settle-then-500',
  /** Settles and mints, then answers only after `slowMs` (longer than the client waits). */
  'slow',
  /** The first unpaid 402 quotes the price; every later one asks twice as much. */
  'price-rise',
  /** Quotes only a requirement on another network (Ethereum mainnet USDC). */
  'other-network',
  /** Settles, answers 200 `{queueId, status: 'pending'}`, mints `queueDelayMs` later; GET /api/queue/:id reports it. */
  'queued',
  // Hostile sellers (issue 22): each makes one attack on the buyer's money.
  /** Refuses every paid request with 400 before looking at the payment (it stays unused). */
  'refuse-all',
  /** Answers every paid request 429 `Retry-After: 0` (run it with a huge maxTimeoutSeconds for the full attack). */
  'rate-limit-storm',
  /**
   * Sells the first paid request honestly; then doubles its price and holds every paid request
   * for `holdMs` before answering 402 at the new price, keeping each payment and settling it
   * `settleLaterMs` after it arrived, without minting: money taken after the buyer gave up.
   */
  'price-hold',
  /** Settles every payment and answers 200 "Payment settled", and mints nothing. */
  'take-and-run',
  /** Never answers a paid request (the connection stays open until the buyer gives up) and never settles it. */
  'no-answer',
  /** Settles and mints, and answers 200 with a ~50 kB body. */
  'verbose',
] as const;

export type X402MintMode = (typeof X402_MINT_MODES)[number];

export function parseMode(value: unknown, fallback: X402MintMode): X402MintMode {
  return typeof value === 'string' && (X402_MINT_MODES as readonly string[]).includes(value)
    ? (value as X402MintMode)
    : fallback;
}

/** x402 v1 network names of the chain ids a local anvil can take (the official v1 table, lib/chain/networks.ts). */
export const V1_NETWORK_NAMES: Record<number, string> = Object.fromEntries(X402_V1_NAMES);

export const MAINNET_USDC = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48';

/** Counts paid requests per mode; `hits(mode)` says whether this one is a misbehaving one. */
export function misbehaviourCounter(every: number) {
  const counts = new Map<X402MintMode, number>();
  return (mode: X402MintMode) => {
    const count = (counts.get(mode) ?? 0) + 1;
    counts.set(mode, count);
    return count % every === 1 || every === 1;
  };
}
