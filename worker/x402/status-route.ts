import { getConfig } from '@/lib/config';
import { OutboundError, safeFetch } from '@/lib/x402/outbound';
import { sleep } from '../sleep';
import { answerExcerpt, excerpt, parseJson } from './answers';

// "200 = queued" sellers (DESIGN.md, x402 sellers in the wild) answer a paid request with a queue
// entry and a status route (`{queueId, status: 'pending', statusUrl: '/api/queue/<id>'}`) and mint
// later. The route is a hint, never proof: it lets the turn move on as soon as the seller says
// the mint is done, or stop the task when it says the mint failed; delivery is still counted only
// from tokens arriving on chain (delivery.ts), so a "minted" the chain does not show is nothing.
// The answer is hostile input: only a route on the endpoint's own origin is read, each read is
// small and timed out, and polling has a floor interval and a total bound.

/** What the seller's status route said about one paid mint (kept on the payment's ledger row). */
export type StatusReport = {
  url: string;
  /** minted / failed: the route said so; pending: it never did within the bound; refused: not read (another origin); unreadable: errors only. */
  said: 'minted' | 'failed' | 'pending' | 'refused' | 'unreadable';
  reads: number;
  /** Its last answer (bounded excerpt), or why it was not read. */
  answer?: unknown;
};

/** The least time between two reads of a status route, whatever the seller's queue does. */
export const STATUS_POLL_FLOOR_MS = 500;
/** Reads are spaced 0.5 s, 1 s, 2 s, then 2 s: a mint queue resolves within seconds, or the delivery timeout decides. */
const STATUS_POLL_CAP_MS = 2000;
/** A status answer is a few fields: more than this is not read. */
const MAX_STATUS_BYTES = 16 * 1024;
/** Errors in a row (404, 5xx, timeouts, not JSON) after which the route is given up as unreadable. */
const MAX_FAILED_READS = 3;

const MINTED = /^(minted|completed?|complete|success(ful)?|succeeded|done|confirmed|delivered|fulfilled)$/i;
const FAILED = /^(failed|failure|error|errored|rejected|cancell?ed|refunded|expired|reverted)$/i;

/** The status route an answer names (`statusUrl`, `status_url`), resolved against the endpoint; undefined if none. */
export function statusUrlOf(
  endpoint: string,
  answer: unknown,
): { url: URL } | { raw: string; refused: string } | undefined {
  if (typeof answer !== 'object' || answer === null) return undefined;
  const raw = (answer as Record<string, unknown>).statusUrl ?? (answer as Record<string, unknown>).status_url;
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  let url: URL;
  try {
    url = new URL(raw, endpoint);
  } catch {
    return { raw, refused: `status route ${excerpt(raw, 200)} is not a URL` };
  }
  if (url.origin !== new URL(endpoint).origin)
    return { raw, refused: `status route on ${url.origin}, not the endpoint's origin: not followed` };
  return { url };
}

/** What a status answer says: minted, failed, or still pending (anything else). */
export function statusWordOf(answer: unknown): 'minted' | 'failed' | 'pending' {
  if (typeof answer !== 'object' || answer === null) return 'pending';
  const record = answer as Record<string, unknown>;
  const word = record.status ?? record.state;
  if (typeof word !== 'string') return 'pending';
  if (MINTED.test(word.trim())) return 'minted';
  if (FAILED.test(word.trim())) return 'failed';
  return 'pending';
}

/**
 * Follows the status route a paid request's answer names until it says minted or failed, for at
 * most X402_DELIVERY_TIMEOUT_MS (the bound delivery is judged by anyway). `signal` (cancel,
 * drain, a sibling that stopped the batch) ends it at once. Undefined when the answer names none.
 */
export async function followStatusRoute(
  endpoint: string,
  answer: unknown,
  signal: AbortSignal,
): Promise<StatusReport | undefined> {
  const named = statusUrlOf(endpoint, answer);
  if (!named) return undefined;
  if ('refused' in named) return { url: excerpt(named.raw, 200), said: 'refused', reads: 0, answer: named.refused };
  const config = getConfig().x402;
  const deadline = Date.now() + config.deliveryTimeoutMs;
  const report: StatusReport = { url: named.url.toString(), said: 'pending', reads: 0 };
  let failedReads = 0;
  for (let wait = STATUS_POLL_FLOOR_MS; ; wait = Math.min(STATUS_POLL_CAP_MS, wait * 2)) {
    const left = deadline - Date.now();
    if (left < wait || signal.aborted) return report;
    await sleep(wait, signal);
    if (signal.aborted) return report;
    report.reads++;
    try {
      const response = await safeFetch(named.url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        timeoutMs: Math.min(config.requestTimeoutMs, Math.max(1, deadline - Date.now())),
        maxBytes: MAX_STATUS_BYTES,
        signal,
      });
      const text = await response.text();
      const json = parseJson(text);
      report.answer = answerExcerpt(json, text);
      if (!response.ok || json === undefined) throw new Error(`answered ${response.status}`);
      failedReads = 0;
      const said = statusWordOf(json);
      if (said !== 'pending') return { ...report, said };
    } catch (error) {
      if (signal.aborted) return report;
      report.answer ??= excerpt(
        error instanceof OutboundError ? `${error.reason}: ${error.message}` : String((error as Error).message),
      );
      if (++failedReads >= MAX_FAILED_READS) return { ...report, said: 'unreadable' };
    }
  }
}
