import {
  countX402PaymentsByTask,
  insertX402Payments,
  listUnpaidX402SequencesByTask,
  markX402PaymentsSent,
  resolveX402Payments,
  type X402PaymentRow,
  type X402Resolution,
} from '@/db/x402-payments';
import { addX402Refusals, type X402TaskState } from '@/db/x402-task-state';
import { getConfig } from '@/lib/config';
import { maxMintsPerPayment } from '@/lib/wallets/payment-guard';
import { crashPoint } from '../crash-points';
import { assertLease } from '../fence';
import type { TurnEnd } from '../task-executor';
import { markDeliveryStart, type DeliveryTally } from './delivery';
import {
  claimUndelivered,
  isAnsweredUnsettled,
  mintsOf,
  POLL_MS,
  recordProgress,
  undeliveredPayments,
  windDown,
  type OpenPayment,
  type Stop,
} from './ending';
import { answersWithVoucher, asksForTransactionHash } from '@/lib/x402/seller-shapes';
import { signPayments, type Purchase } from './payment';
import type { X402Runtime } from './runtime';
import { EXPIRY_MARGIN_SECONDS, sendPayment, type SendResult } from './send';

/** What the turn's batch starts from: the run, and what prepare read (executor.ts). */
export type X402Turn = { rt: X402Runtime; state: X402TaskState; open: OpenPayment[]; tally: DeliveryTally };

/**
 * One turn of an x402 task, once the ledger is settled with the chain (executor.ts): decide
 * whether the seller has stopped the task (see ending.ts), then send a batch: the open payments
 * again as they are, and new ones for unpaid mints, as many as the delivery window allows. The
 * window is one mint until the seller has delivered a first mint (its tokens are with the
 * user), then MINT_BATCH_SIZE mints whose tokens have not arrived yet: a seller that takes
 * money without delivering is stopped at the first payment, and later at most one batch. A
 * seller that prices a quantity (X402Terms.mintsPerPayment) is then sold several mints per
 * payment, one such payment at a time (see signFresh).
 */
export async function runX402Batch({ rt, state, open, tally }: X402Turn): Promise<TurnEnd> {
  const stop = refusalStop(rt, state) ?? (await deliveryStop(rt, tally)) ?? stallStop(rt);
  if (stop) return windDown(rt, stop);

  const batch = [...open.filter(isSendable), ...(await signFresh(rt, open, tally))];
  // Nothing to send: the window is full of payments waiting for their tokens or a settlement.
  if (batch.length === 0) return { waitMs: POLL_MS };
  if (state.deliveryFromBlock === null) await markDeliveryStart(rt);

  await markX402PaymentsSent({ ids: batch.filter((r) => r.status === 'signed').map((r) => r.id) });
  const started = Date.now();
  await assertLease(rt); // fencing: a worker paused past its lease sends no payment
  const results = await sendAll(rt, batch);
  const { resolutions, refusals, stop: sellerStop } = judge(rt, results);
  await resolveX402Payments({ resolutions });
  const after = await recordProgress(rt);
  noteProgress(rt, after);
  for (const r of results)
    if (r.kind === 'settled')
      rt.reporter.minted(rt.task, { sequenceNumber: r.row.sequenceNumber, txHash: r.txHash ?? '' });
  rt.reporter.batchRecorded(rt.task, {
    confirmed: resolutions.filter((r) => r.status === 'settled').length,
    failed: refusals.length,
    durationMs: Date.now() - started,
  });

  if (sellerStop) return windDown(rt, sellerStop);
  if (refusals.length > 0) {
    const total = await addX402Refusals({ taskId: rt.task.id, count: refusals.length });
    const refused = refusalStop(rt, { ...state, refusals: total }, refusals.at(-1));
    if (refused) return windDown(rt, refused);
    // The same payments are re-sent after a pause that doubles with each refusal of this run (1 s, 2 s, …).
    const inRun = Math.max(1, total - getConfig().x402.maxRefusals * rt.task.retries);
    return { waitMs: Math.min(30_000, 1000 * 2 ** Math.min(5, inRun - 1)) };
  }
  return { paced: true };
}

/** Not re-sent: one the seller answered 2xx or the chain shows used (the chain decides), or one too close to expiry to settle. */
function isSendable(row: OpenPayment) {
  const answered = row.httpStatus !== null && row.httpStatus >= 200 && row.httpStatus < 300;
  return !answered && !row.usedOnChain && (row.validBefore.getTime() - Date.now()) / 1000 >= EXPIRY_MARGIN_SECONDS;
}

/**
 * Signs and writes to the ledger new payments for unpaid mints, as many as the delivery window
 * (counted in mints) has room for. Where the seller prices a quantity, the first payment still
 * buys one mint: it proves the seller delivers at the price of one, and shows how many tokens
 * one mint brings (a seller that charged for k and minted one would otherwise look like one
 * whose mint is worth 1/k). After it, a payment buys up to mintsPerPayment (never more than
 * the window or what the task still needs; the last buys the remainder), and goes out alone:
 * its tokens are counted before more money follows, so a seller that delivers fewer than it was
 * paid for is a claim after that one payment.
 */
async function signFresh(rt: X402Runtime, open: OpenPayment[], tally: DeliveryTally): Promise<X402PaymentRow[]> {
  const window = tally.delivered === 0 ? 1 : getConfig().worker.batchSize;
  // Mints out: those of the payments the seller took (settled, or answered 2xx and live or
  // expired: a delivered mint is never bought again) and of the live ones it has not answered yet.
  const committed = tally.paid + mintsOf(open.filter((r) => !isAnsweredUnsettled(r)));
  const perPayment = tally.delivered === 0 ? 1 : maxMintsPerPayment(rt.terms);
  if (perPayment > 1 && committed > tally.delivered) return [];
  const room = Math.min(window - (committed - tally.delivered), rt.task.quantity - committed);
  if (room <= 0) return [];
  const sequences = await listUnpaidX402SequencesByTask({
    taskId: rt.task.id,
    quantity: rt.task.quantity,
    limit: room,
  });
  if (sequences.length === 0) return [];
  const purchases =
    perPayment > 1 ? [firstRun(sequences, perPayment)] : sequences.map((s) => ({ sequenceNumber: s, units: 1 }));
  const counts = await countX402PaymentsByTask({ taskId: rt.task.id });
  const live = counts.settledAmount + open.reduce((sum, r) => sum + BigInt(r.amount), 0n);
  const signed = await signPayments(rt, purchases, live);
  const ids = await insertX402Payments({
    taskId: rt.task.id,
    workerId: rt.workerId,
    payments: signed,
    limit: rt.policy.funding,
  });
  crashPoint('after-ledger-write');
  return signed.map((p, i) => ({
    ...p,
    id: ids[i]!,
    status: 'signed' as const,
    httpStatus: null,
    settlementTxHash: null,
    error: null,
    createdAt: new Date(),
    sentAt: null,
  }));
}

/** The first run of consecutive mints in `sequences` (ascending), at most `max` long: what one payment buys. */
function firstRun(sequences: number[], max: number): Purchase {
  let units = 1;
  while (units < max && sequences[units] === sequences[0]! + units) units++;
  return { sequenceNumber: sequences[0]!, units };
}

/** Sends the batch at once; an answer that stops the task (a higher price, an endless 429) stops the other sends too. */
async function sendAll(rt: X402Runtime, batch: X402PaymentRow[]): Promise<SendResult[]> {
  const stopBatch = new AbortController();
  const signal = AbortSignal.any([rt.signal, stopBatch.signal]);
  return Promise.all(
    batch.map(async (row) => {
      const result = await sendPayment(rt, row, signal);
      if (result.kind === 'price' || result.kind === 'stalled') stopBatch.abort();
      return result;
    }),
  );
}

/** Turns answers into ledger resolutions; a refused payment stays open (it is re-sent, cancelled or left to expire, never replaced). */
function judge(rt: X402Runtime, results: SendResult[]) {
  const resolutions: X402Resolution[] = [];
  const refusals: string[] = [];
  let stop: Stop | undefined;
  for (const r of results) {
    // The seller's own status route says the mint failed: nothing more is paid (tokens that come
    // anyway still count; a settled payment without them becomes a claim as the task ends).
    if ((r.kind === 'settled' || r.kind === 'answered') && r.status?.said === 'failed')
      stop ??= {
        outcome: 'failed',
        reason: `The endpoint's status route (${r.status.url}) says the mint failed; nothing more is paid to it.`,
      };
    if (r.kind === 'settled')
      resolutions.push({
        id: r.row.id,
        status: 'settled',
        httpStatus: r.httpStatus,
        settlementTxHash: r.txHash,
        response: r.response,
      });
    else if (r.kind === 'cancelled') resolutions.push({ id: r.row.id, status: 'cancelled' });
    else if (r.kind === 'refused' && asksForTransactionHash(r.reason))
      stop ??= {
        outcome: 'failed',
        reason: `The endpoint wants a transaction hash as payment ("${r.reason}"), not an x402 authorization; nothing was paid and nothing more is sent.`,
      };
    else if (r.kind === 'refused') refusals.push(r.reason);
    else if (r.kind === 'answered' && answersWithVoucher({ output: r.response }))
      stop ??= {
        outcome: 'failed',
        reason:
          'The endpoint answered with a voucher to redeem on chain, not with tokens; AgentMint does not redeem vouchers, so its payment is cancelled and nothing more is sent.',
      };
    else if (r.kind === 'price')
      stop ??= {
        outcome: 'failed',
        reason:
          r.row.units > 1
            ? `The endpoint now asks ${r.price} base units for ${r.row.units} mints, more than the ${BigInt(rt.terms.requirement.amount) * BigInt(r.row.units)} probed; nothing more was paid.`
            : `The endpoint now asks ${r.price} base units per mint, more than the ${rt.terms.requirement.amount} probed; nothing more was paid.`,
      };
    else if (r.kind === 'stalled') stop ??= { outcome: 'failed', reason: `${r.reason}; the task stopped.` };
  }
  return { resolutions, refusals, stop };
}

/** The seller refused X402_MAX_REFUSALS paid requests (per run of the task; the count itself survives retries). */
function refusalStop(rt: X402Runtime, state: X402TaskState, last?: string): Stop | undefined {
  const allowed = getConfig().x402.maxRefusals * (rt.task.retries + 1);
  if (state.refusals < allowed) return undefined;
  return {
    outcome: 'failed',
    reason: `The endpoint refused ${state.refusals} paid request(s)${last ? ` (last: ${last})` : ''}; nothing more is sent to it.`,
  };
}

/** A payment settled and its tokens did not arrive within X402_DELIVERY_TIMEOUT_MS: a claim, and the task stops. */
async function deliveryStop(rt: X402Runtime, tally: DeliveryTally): Promise<Stop | undefined> {
  if (tally.paid <= tally.delivered) return undefined;
  const timeoutMs = getConfig().x402.deliveryTimeoutMs;
  const undelivered = await undeliveredPayments(rt, tally);
  const late = undelivered.filter((p) => p.settledForMs >= timeoutMs);
  // Answered 2xx, not settled, nothing arrived for as long: no money moved, and none follows.
  if (late.length === 0 && undelivered.length === 0 && Date.now() - rt.lastProgressAt >= timeoutMs)
    return {
      outcome: 'failed',
      reason: `The endpoint answered ${tally.paid - tally.delivered} paid request(s) without settling them or delivering tokens within ${Math.round(timeoutMs / 1000)} s; nothing more is sent, and the authorizations are cancelled or left to expire.`,
    };
  if (late.length === 0) return undefined;
  await claimUndelivered(rt, tally, late);
  return {
    outcome: 'failed',
    reason: `The endpoint was paid but its tokens did not arrive within ${Math.round(timeoutMs / 1000)} s (${tally.delivered} of ${tally.paid} paid mints delivered); nothing more is paid to it.`,
  };
}

/** Nothing paid and nothing received for X402_STALL_TIMEOUT_MS: the run ends rather than hold a worker slot. */
function stallStop(rt: X402Runtime): Stop | undefined {
  const stallMs = getConfig().x402.stallTimeoutMs;
  if (Date.now() - rt.lastProgressAt < stallMs) return undefined;
  return {
    outcome: 'failed',
    reason: `The endpoint neither settled a payment nor delivered tokens for ${Math.round(stallMs / 1000)} s; the task stopped.`,
  };
}

const lastTally = new WeakMap<X402Runtime, { paid: number; delivered: number }>();

/** Notes when the run last paid or received something (the stall bound counts from it). */
export function noteProgress(rt: X402Runtime, tally: DeliveryTally) {
  const last = lastTally.get(rt);
  if (!last || tally.paid > last.paid || tally.delivered > last.delivered) rt.lastProgressAt = Date.now();
  lastTally.set(rt, { paid: tally.paid, delivered: tally.delivered });
}
