import { X402_V1_NAMES } from '@/lib/chain/networks';
/**
 * How the local x402 mint server behaves, for tests and demos. Chosen per server (option,
 * X402_MINT_MODE) or per request (`?mode=`), so one server can sell to tasks of every kind.
 * Misbehaving modes hit the first paid request of each group of `every` (default 3).
 */
export const X402_MINT_MODES = [
  /**
   * x402 v2 via @x402/express: PAYMENT-REQUIRED header, PAYMENT-SIGNATURE, PAYMENT-RESPONSE. Like
   * the seed's upstream server, every POST mode takes `{quantity (1-10), recipient?}`, prices
   * price × quantity and mints mintAmount × quantity (several mints per payment).
   */
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
  /** Like queued, but the queue entry turns `failed` after `queueDelayMs` and nothing is minted (the payment settled). */
  'queued-fails',
  /** Like queued, but the queue entry stays `pending` for ever and nothing is minted (the payment settled). */
  'queued-stuck',
  /** Like queued, but `statusUrl` names another origin (`localhost` for `127.0.0.1`): a buyer must not follow it. */
  'queued-elsewhere',
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
  // Seller shapes in the wild (shared/DESIGN.md); the ones marked /mint are served at `/mint`,
  // where the URL names no token (mintUrl picks the path).
  /** /mint, pog-token-api: GET only (a POST gets Express's 404 "Cannot POST"); mints to the payer. */
  'get-only',
  /** `extra` names an EIP-712 domain that is not the asset's ("X4D Mint" 1); the asset's own domain verifies. */
  'foreign-domain',
  /** /mint, banana-x402: `extra` {name "BANANA Mint", symbol, contract, outPerMint}, payTo a hot wallet; mints to the payer. */
  'extra-contract',
  /** /mint, pog-token-api: mints to the payer for any payment and never settles it. */
  'deliver-without-settle',
  /** Verifies, mints, answers 200 without settling; settles `settleLaterMs` later. */
  'settle-later',
  /** Settles and mints `soldOutAfter` times; after that settles and answers 410 "Sold out", minting nothing. */
  'sold-out',
  /** /mint, geoplet: body {userAddress, fid} (400 "Missing required fields" without; fid also as ?fid=); a v1 402 whose output is a voucher; verifies only and answers the voucher. */
  'voucher',
  /** /mint, riz877: a standard-looking v1 402 (its output names the mint's transactionHash); a paid request must carry a transaction hash, a payment gets 403. */
  'hash-as-payment',
  /** /mint, riz877's earlier versions: as hash-as-payment, but the 402 tells the buyer to send USDC itself, then submit the transaction hash as proof. */
  'hash-as-payment-told',
  /** /mint, osbrain: 402 {amount6, payTo}, not x402. */
  'non-x402',
  /** /mint: 400 "Missing required fields: to" until the body names `to` (the recipient). */
  'needs-fields',
  /**
   * Honours the payment-identifier every v2 402 of this server declares: verifies, mints, answers
   * the first paid request of each `every` only after `slowMs`, settles `settleLaterMs` after
   * answering; a request carrying an id already seen gets that id's answer, nothing minted again.
   */
  'payment-id',
  /** Like payment-id without honouring ids: every (re-)sent request mints again. */
  'no-payment-id',
  // Several mints per payment (issue 22): sellers whose request takes a quantity.
  /** Prices a quantity below price × quantity (10% off above one): not linear, bought one mint per payment. */
  'bulk-discount',
  /** Prices price × quantity, but mints one mint's tokens whatever the quantity: paid for k, delivers 1. */
  'ignores-quantity',
] as const;

/** Modes served at `/mint` (no token in the URL, as their models in the wild). */
export const TOKENLESS_PATH_MODES: readonly X402MintMode[] = [
  'get-only',
  'extra-contract',
  'deliver-without-settle',
  'voucher',
  'hash-as-payment',
  'hash-as-payment-told',
  'non-x402',
  'needs-fields',
];

/** Modes that mint to the payer whatever the body says. */
export const MINTS_TO_PAYER: readonly X402MintMode[] = ['get-only', 'extra-contract', 'deliver-without-settle'];

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
