import {
  noteX402PaymentAnswer,
  resolveX402Payments,
  setX402PaymentResponse,
  type X402PaymentRow,
} from '@/db/x402-payments';
import { getConfig } from '@/lib/config';
import { bodyForMints } from '@/lib/x402/bulk-pricing';
import { OutboundError, safeFetch } from '@/lib/x402/outbound';
import { crashPoint } from '../crash-points';
import { sleep } from '../sleep';
import { answerExcerpt, excerpt, parseJson, quotesOf, raisedPrice, retryAfterMs, settlementOf } from './answers';
import { paymentHeadersOf } from './payment';
import { chainVerdict } from './settlement';
import type { X402Runtime } from './runtime';
import { followStatusRoute, type StatusReport } from './status-route';

export type SendResult =
  | {
      kind: 'settled';
      row: X402PaymentRow;
      txHash?: string;
      httpStatus: number | null;
      response?: unknown;
      /** What the status route the answer named said ("200 = queued" sellers; status-route.ts). */
      status?: StatusReport;
    }
  | { kind: 'cancelled'; row: X402PaymentRow }
  /** The endpoint refused it and the chain says it is unused: it stays open (live until cancelled or expired) and may be re-sent as it is. */
  | { kind: 'refused'; row: X402PaymentRow; httpStatus: number; reason: string; response?: unknown }
  /** A 402 quoting more than the probed price. */
  | { kind: 'price'; row: X402PaymentRow; price: bigint; reason: string }
  /** A 2xx, but the chain shows no settlement yet: never re-sent (a second send could buy twice); the chain decides later. */
  | { kind: 'answered'; row: X402PaymentRow; httpStatus: number; response?: unknown; status?: StatusReport }
  /** The endpoint kept answering 429 past X402_MAX_RATE_LIMIT_WAIT_MS for this payment. */
  | { kind: 'stalled'; row: X402PaymentRow; reason: string }
  /** No answer the chain could confirm; stays open and is re-sent or left to expire next turn (or, used on chain, waits for its log). */
  | { kind: 'open'; row: X402PaymentRow; reason: string };

const USED_UNPROVEN = 'used on chain; its settlement is not in the logs yet';

/** Re-sends of one payment in one turn after a timeout or 5xx left it unused (then the next turn tries again). */
const MAX_RESENDS = 2;
/** Not sent when it would expire before the endpoint can settle it; it is then left to expire. */
export const EXPIRY_MARGIN_SECONDS = 5;
/** An answer to a paid request is small (a receipt, a queue id): more than this is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Sends one payment until its outcome is known: 429s are waited out as the endpoint asks (at
 * least 1 s each, X402_MAX_RATE_LIMIT_WAIT_MS in all per payment; no failure counted);
 * timeouts, 408 and 5xx are judged by the chain (used = paid, never paid again; unused = the
 * same payment is re-sent). A 2xx counts only once the chain shows the authorization used.
 * `signal` ends every wait and request at once (cancel, drain, or a sibling that stopped the batch).
 */
export async function sendPayment(rt: X402Runtime, row: X402PaymentRow, signal: AbortSignal): Promise<SendResult> {
  const { terms } = rt;
  const config = getConfig().x402;
  const body =
    terms.body === undefined ? undefined : JSON.stringify(bodyForMints(terms.body, terms.mintsPerPayment, row.units));
  const headers = {
    ...paymentHeadersOf(rt, row),
    accept: 'application/json',
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  let resends = 0;
  for (;;) {
    if (signal.aborted) return { kind: 'open', row, reason: 'stopped' };
    if ((row.validBefore.getTime() - Date.now()) / 1000 < EXPIRY_MARGIN_SECONDS)
      return { kind: 'open', row, reason: 'authorization about to expire' };
    let response: Response;
    let text: string;
    try {
      response = await safeFetch(terms.url, {
        method: terms.method,
        headers,
        body,
        timeoutMs: config.requestTimeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
        signal,
      });
      text = await response.text();
    } catch (error) {
      const sent = !(error instanceof OutboundError) || error.requestSent;
      const reason =
        error instanceof OutboundError ? `${error.reason}: ${error.message}` : String((error as Error).message);
      await noteX402PaymentAnswer({ id: row.id, httpStatus: null, error: excerpt(reason) });
      if (sent) {
        const verdict = await chainVerdict(rt, row);
        if (verdict.state === 'settled') return { kind: 'settled', row, txHash: verdict.txHash, httpStatus: null };
        if (verdict.state === 'cancelled') return { kind: 'cancelled', row };
        if (verdict.state === 'unproven') return { kind: 'open', row, reason: USED_UNPROVEN };
      }
      if (error instanceof OutboundError && !['timeout', 'network'].includes(error.reason))
        return { kind: 'refused', row, httpStatus: 0, reason };
      if (signal.aborted || resends++ >= MAX_RESENDS) return { kind: 'open', row, reason };
      rt.stats.resent++;
      await sleep(250 * resends, signal);
      continue;
    }
    rt.stats.paid++;
    // Test hook: the worker dies with the answer in hand, before anything is recorded.
    crashPoint('after-broadcast');
    const status = response.status;
    const json = parseJson(text);
    const answer = answerExcerpt(json, text);
    if (status >= 200 && status < 300) {
      const { transaction } = settlementOf(response.headers);
      const verdict = await chainVerdict(rt, row, transaction);
      if (verdict.state === 'cancelled') return { kind: 'cancelled', row };
      const settled = verdict.state === 'settled';
      // Recorded before the status route is followed: the delivery timeout counts from the settlement.
      if (settled)
        await resolveX402Payments({
          resolutions: [
            { id: row.id, status: 'settled', httpStatus: status, settlementTxHash: verdict.txHash, response: answer },
          ],
        });
      // A queued mint: its status route (same origin only, bounded) says when it is done or failed.
      const report = await followStatusRoute(terms.url, json, signal);
      const recorded = report ? withStatus(answer, report) : answer;
      if (settled && report) await setX402PaymentResponse({ id: row.id, response: recorded });
      if (settled)
        return { kind: 'settled', row, txHash: verdict.txHash, httpStatus: status, response: recorded, status: report };
      await noteX402PaymentAnswer({
        id: row.id,
        httpStatus: status,
        error: excerpt(
          `answered ${status}; not settled on chain yet${report ? `; status route ${report.url} said ${report.said}` : ''}`,
        ),
      });
      return { kind: 'answered', row, httpStatus: status, response: recorded, status: report };
    }
    if (status === 429) {
      const waitMs = retryAfterMs(response.headers, text);
      const waited = rt.rateLimitedMs.get(row.id) ?? 0;
      if (waited + waitMs > config.maxRateLimitWaitMs)
        return {
          kind: 'stalled',
          row,
          reason: `the endpoint kept answering 429 (Too Many Requests) for ${Math.round(waited / 1000)} s`,
        };
      rt.rateLimitedMs.set(row.id, waited + waitMs);
      rt.stats.waits++;
      await noteX402PaymentAnswer({ id: row.id, httpStatus: status, error: `rate limited: waiting ${waitMs} ms` });
      await sleep(waitMs, signal);
      continue;
    }
    const verdict = await chainVerdict(rt, row, status < 500 ? undefined : settlementOf(response.headers).transaction);
    if (verdict.state === 'settled')
      return { kind: 'settled', row, txHash: verdict.txHash, httpStatus: status, response: answer };
    if (verdict.state === 'cancelled') return { kind: 'cancelled', row };
    // Used, whatever it answered: never a refusal to count or a payment to re-send.
    if (verdict.state === 'unproven') {
      await noteX402PaymentAnswer({ id: row.id, httpStatus: status, error: `answered ${status}; ${USED_UNPROVEN}` });
      return { kind: 'open', row, reason: USED_UNPROVEN };
    }
    if (status === 402) {
      const { quotes, error } = quotesOf(response.headers, json);
      const price = raisedPrice(terms, quotes, row.units);
      const reason = error ?? (json as { error?: string } | undefined)?.error ?? 'payment refused';
      if (price !== undefined) return { kind: 'price', row, price, reason: excerpt(String(reason)) };
      return { kind: 'refused', row, httpStatus: status, reason: excerpt(String(reason)), response: answer };
    }
    if (status === 408 || status >= 500) {
      await noteX402PaymentAnswer({ id: row.id, httpStatus: status, error: excerpt(text) });
      if (signal.aborted || resends++ >= MAX_RESENDS) return { kind: 'open', row, reason: `answered ${status}` };
      rt.stats.resent++;
      await sleep(250 * resends, signal);
      continue;
    }
    return {
      kind: 'refused',
      row,
      httpStatus: status,
      reason: excerpt(String((json as { error?: unknown } | undefined)?.error ?? text)) || `HTTP ${status}`,
      response: answer,
    };
  }
}

/** The answer as the ledger keeps it, with what its status route said beside it. */
function withStatus(answer: unknown, status: StatusReport): unknown {
  const base = typeof answer === 'object' && answer !== null && !Array.isArray(answer) ? answer : { answer };
  return { ...base, statusRoute: status };
}
