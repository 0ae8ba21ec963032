import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import type { X402Terms } from '@/db/schema';
import { HEX_WORD } from '@/lib/hex';

// Reading an x402 endpoint's answer to a paid request. Every parse is defensive: endpoints in
// the wild differ, and a malformed header must never look like a settlement.

/** The settlement transaction from PAYMENT-RESPONSE (v2) or X-PAYMENT-RESPONSE (v1), if any. */
export function settlementOf(headers: Headers): { transaction?: string; success?: boolean } {
  const raw = headers.get('payment-response') ?? headers.get('x-payment-response');
  if (!raw) return {};
  try {
    const decoded = decodePaymentResponseHeader(raw) as { transaction?: string; success?: boolean };
    const tx =
      typeof decoded.transaction === 'string' && HEX_WORD.test(decoded.transaction) ? decoded.transaction : undefined;
    return { transaction: tx, success: decoded.success };
  } catch {
    return {};
  }
}

type Quote = { network?: string; asset?: string; amount?: string; maxAmountRequired?: string; scheme?: string };

/** The requirements a 402 quotes: the v2 header, else a v1 JSON body. */
export function quotesOf(headers: Headers, body: unknown): { quotes: Quote[]; error?: string } {
  const header = headers.get('payment-required');
  if (header) {
    try {
      const required = decodePaymentRequiredHeader(header);
      return { quotes: required.accepts as Quote[], error: required.error };
    } catch {
      return { quotes: [] };
    }
  }
  const parsed = body as { accepts?: unknown; error?: unknown } | undefined;
  return {
    quotes: Array.isArray(parsed?.accepts) ? (parsed.accepts as Quote[]) : [],
    error: typeof parsed?.error === 'string' ? parsed.error : undefined,
  };
}

/**
 * When a 402 quotes the task's asset at more than the probed price (of `units` mints, the ones
 * the request buys), the price went up: the task stops instead of paying it. Returns the higher
 * price, or undefined.
 */
export function raisedPrice(terms: X402Terms, quotes: Quote[], units = 1): bigint | undefined {
  const probed = BigInt(terms.requirement.amount) * BigInt(units);
  const same = quotes.filter(
    (q) => q.asset?.toLowerCase() === terms.requirement.asset.toLowerCase() && (q.scheme ?? 'exact') === 'exact',
  );
  const prices = same.map((q) => {
    try {
      return BigInt(q.amount ?? q.maxAmountRequired ?? '0');
    } catch {
      return 0n;
    }
  });
  if (prices.length === 0 || prices.some((p) => p <= probed)) return undefined;
  return prices.reduce((a, b) => (a < b ? a : b));
}

// The most one 429 is waited out, whatever it asks (an hour's Retry-After included): the task's
// own bound, X402_MAX_RATE_LIMIT_WAIT_MS (120 s by default), decides when it gives up, not the seller.
const MAX_WAIT_SECONDS = 120;
/** The least a 429 is waited out, whatever it asks: `Retry-After: 0` on every answer must not become a busy loop. */
export const MIN_RATE_LIMIT_WAIT_MS = 1000;

/** How long a 429 asks to wait: Retry-After (seconds or a date), or "wait N seconds" in the body; 1 s otherwise, and 1 s to 120 s in any case. */
export function retryAfterMs(headers: Headers, bodyText: string): number {
  const header = headers.get('retry-after');
  let seconds: number | undefined;
  if (header && /^\d+(\.\d+)?$/.test(header.trim())) seconds = Number(header);
  else if (header && !Number.isNaN(Date.parse(header))) seconds = (Date.parse(header) - Date.now()) / 1000;
  else {
    const match =
      /(?:wait|retry in|retry after|try again in)\D{0,20}?(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?/i.exec(
        bodyText,
      );
    if (match) {
      const unit = (match[2] ?? 's').toLowerCase();
      const amount = Number(match[1]);
      seconds =
        unit.startsWith('ms') || unit.startsWith('milli') ? amount / 1000 : unit.startsWith('m') ? amount * 60 : amount;
    }
  }
  const waitSeconds =
    seconds === undefined || !Number.isFinite(seconds) ? 1 : Math.min(MAX_WAIT_SECONDS, Math.max(0, seconds));
  return Math.max(MIN_RATE_LIMIT_WAIT_MS, Math.round(waitSeconds * 1000));
}

/** A short, safe excerpt of a body for the ledger and errors. */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The most of a seller's answer the ledger keeps per payment (and a claim quotes). */
export const MAX_ANSWER_CHARS = 1000;

/** What the ledger stores of an answer: its JSON when that is small, else a bounded excerpt of the text. */
export function answerExcerpt(json: unknown, text: string): unknown {
  if (json !== undefined && JSON.stringify(json).length <= MAX_ANSWER_CHARS) return json;
  return excerpt(text, MAX_ANSWER_CHARS);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
