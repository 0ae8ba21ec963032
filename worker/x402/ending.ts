import { insertX402Claims } from '@/db/x402-claims';
import {
  countX402PaymentsByTask,
  listOpenX402PaymentsByTask,
  listSettledX402PaymentsByTask,
  listX402PaymentsByTask,
  recordX402Progress,
  resolveX402Payments,
  type X402PaymentRow,
  type X402Resolution,
} from '@/db/x402-payments';
import { recordX402Stop } from '@/db/x402-task-state';
import type { X402StopOutcome } from '@/db/schema';
import { getConfig } from '@/lib/config';
import { getLogger } from '@/lib/log';
import type { Ending, TurnEnd } from '../task-executor';
import { tallyDeliveries, type DeliveryTally } from './delivery';
import type { X402Runtime } from './runtime';
import {
  cancelOnChain,
  chainNow,
  chainVerdict,
  expiredAt,
  UNPROVEN_GRACE_SECONDS,
  unprovenTooLong,
} from './settlement';

// How an x402 task ends. Whatever stops it (done, the user's cancel, a refusing, price-raising,
// rate-limiting or non-delivering seller, too many failed attempts), it ends only when none of
// its authorizations can move money any more, so no seller can settle one after the task ended:
// each open one is settled (the chain says so), cancelled on chain (within the operator's budget
// for the task), or expired by chain time; one the chain shows used waits until the logs say
// how (settlement.ts). Until then the task stays processing, waiting without a worker slot. A
// payment that settled without its tokens arriving within X402_DELIVERY_TIMEOUT_MS leaves a
// claim record. The task loop (run-task.ts) calls windDown
// when the task is done or cancelled, or failed its attempts; the x402 turn when the seller
// stopped it (a stop is recorded with the task, and the next turns go on winding down to it).

export type Stop = { outcome: X402StopOutcome; reason: string };

/** Polling floor while the task waits for tokens or a settlement. */
export const POLL_MS = 500;

/** A payment the seller answered 2xx without settling it: taken all the same (it may deliver first and settle later, or never). */
export const isAnsweredUnsettled = (row: X402PaymentRow) =>
  ['signed', 'sent', 'expired'].includes(row.status) &&
  row.httpStatus !== null &&
  row.httpStatus >= 200 &&
  row.httpStatus < 300;

/** Mints a set of payments buys (each buys `units`: one, or several from a seller that prices a quantity). */
export const mintsOf = (rows: { units: number }[]) => rows.reduce((sum, r) => sum + r.units, 0);

/**
 * Recounts the task from the ledger and the chain, in mints: paid = mints of the payments the
 * seller took, delivered = paid and with the user; failed = mints of claimed payments not delivered.
 */
export async function recordProgress(rt: X402Runtime): Promise<DeliveryTally> {
  const [counts, rows] = await Promise.all([
    countX402PaymentsByTask({ taskId: rt.task.id }),
    listX402PaymentsByTask({ taskId: rt.task.id }),
  ]);
  const answered = mintsOf(rows.filter(isAnsweredUnsettled));
  const tally = await tallyDeliveries(rt, counts.settledMints + answered, counts.settledMints);
  const failed = Math.min(counts.claimedMints, Math.max(0, tally.paid - tally.delivered));
  await recordX402Progress({ taskId: rt.task.id, mintsCompleted: tally.delivered, mintsFailed: failed });
  rt.task.mintsCompleted = Math.min(tally.delivered, rt.task.quantity);
  return tally;
}

/**
 * Settled payments whose tokens have not (all) arrived, oldest first: the candidates for claims.
 * Sellers deliver in the order they are paid, so the undelivered ones are the latest: as many
 * of the latest as buy the (paid − delivered) mints missing (one short by a single mint of
 * several is a claim all the same).
 */
export async function undeliveredPayments(rt: X402Runtime, tally: DeliveryTally) {
  const settled = await listSettledX402PaymentsByTask({ taskId: rt.task.id });
  return latestBuying(settled, tally.paid - tally.delivered);
}

/** The latest of `rows` (in their order) that together buy at least `mints` mints. */
function latestBuying<T extends { units: number }>(rows: T[], mints: number): T[] {
  let first = rows.length;
  for (let missing = mints; first > 0 && missing > 0;) missing -= rows[--first]!.units;
  return rows.slice(first);
}

/** Writes a claim for each settled payment in `payments` (the evidence the card, ops and the audit show). */
export async function claimUndelivered(
  rt: X402Runtime,
  tally: DeliveryTally,
  payments: { id: string; sequenceNumber: number }[],
) {
  const added = await insertX402Claims({
    taskId: rt.task.id,
    paymentIds: payments.map((p) => p.id),
    arrivedAmount: tally.arrived,
    expectedAmount: tally.unit === null ? null : tally.unit * BigInt(tally.paid),
  });
  if (added === 0) return;
  getLogger().warn(
    {
      taskId: rt.task.id,
      payTo: rt.terms.requirement.payTo,
      payments: added,
      arrived: tally.arrived.toString(),
    },
    'x402 seller took payment without delivering: claim recorded',
  );
}

/** An open payment; `usedOnChain` when the chain shows it used but not yet how (never re-sent or cancelled). */
export type OpenPayment = X402PaymentRow & { usedOnChain?: true };

/**
 * The open payments the chain has decided (settled by the seller, cancelled, expired by chain
 * time) are resolved; the live ones are returned. All of it is read at one block: its timestamp
 * is the clock expiry is judged by, and an authorization is expired only when it is unused at
 * that same block (a node a block behind would call a just-settled one unused). One used without
 * a log past UNPROVEN_GRACE_SECONDS is counted as paid (settlement.ts says why).
 */
export async function reconcileOpenPayments(rt: X402Runtime, reason = 'expired unused'): Promise<OpenPayment[]> {
  const open = await listOpenX402PaymentsByTask({ taskId: rt.task.id });
  if (open.length === 0) return [];
  const now = await chainNow(rt);
  const resolutions: X402Resolution[] = [];
  const live: OpenPayment[] = [];
  for (const row of open) {
    const verdict = await chainVerdict(rt, row, undefined, now.block);
    if (verdict.state === 'settled')
      resolutions.push({ id: row.id, status: 'settled', settlementTxHash: verdict.txHash });
    else if (verdict.state === 'cancelled') resolutions.push({ id: row.id, status: 'cancelled' });
    else if (verdict.state === 'unproven' && unprovenTooLong(row, now.time)) {
      resolutions.push({ id: row.id, status: 'settled', error: UNPROVEN_NOTE });
      getLogger().warn(
        { taskId: rt.task.id, nonce: row.nonce, block: now.block.toString() },
        'x402 authorization used on chain without a transfer or cancel log; counted as paid',
      );
    } else if (verdict.state === 'unproven') live.push({ ...row, usedOnChain: true });
    else if (expiredAt(row, now.time)) resolutions.push({ id: row.id, status: 'expired', error: row.error ?? reason });
    else live.push(row);
  }
  await resolveX402Payments({ resolutions });
  return live;
}

const UNPROVEN_NOTE = `used on chain, but no node returned its transfer or cancel log within ${UNPROVEN_GRACE_SECONDS} s of its expiry: counted as paid`;

/**
 * One step of ending the task: records why it stops (the first reason of the run wins), closes
 * what it can, and either ends it or says how long to wait. Called again until it ends.
 */
export async function windDown(rt: X402Runtime, ending: Ending): Promise<TurnEnd> {
  const stop =
    ending.outcome === 'completed'
      ? ending
      : await recordX402Stop({ taskId: rt.task.id, retries: rt.task.retries, ...ending });
  const live = await reconcileOpenPayments(rt, stop.reason);
  // An authorization whose mint was delivered stays the seller's to settle: it is not cancelled,
  // and the task waits (its money reserved) until it settles or expires by chain time.
  const delivered = deliveredUnsettled(live, await recordProgress(rt));
  // A used one waits for its log: a cancel could only revert.
  const stillLive: OpenPayment[] = [...delivered, ...live.filter((r) => r.usedOnChain && !delivered.includes(r))];
  const resolutions: X402Resolution[] = [];
  for (const row of live.filter((r) => !stillLive.includes(r))) {
    const verdict = await cancelOnChain(rt, row);
    if (!verdict) stillLive.push(row);
    else if (verdict.state === 'unproven') stillLive.push({ ...row, usedOnChain: true });
    else if (verdict.state === 'settled')
      resolutions.push({ id: row.id, status: 'settled', settlementTxHash: verdict.txHash });
    else resolutions.push({ id: row.id, status: 'cancelled', error: stop.reason ?? 'cancelled as the task ended' });
  }
  await resolveX402Payments({ resolutions });
  const tally = await recordProgress(rt);

  if (stillLive.length > 0) {
    // Delivered (the seller's to settle), over the operator's budget for cancels, or used with
    // no log yet: these stay live until they settle or the chain's clock passes them (or, used,
    // its grace). A delivered or used one is looked at again within 5 s: a seller that settles
    // later is seen settling, a lagging node is seen catching up.
    const now = await chainNow(rt);
    const decidedBy = (r: OpenPayment) =>
      BigInt(r.authorization.validBefore!) + (r.usedOnChain ? UNPROVEN_GRACE_SECONDS : 0n);
    const first = stillLive.reduce((m, r) => (decidedBy(r) < m ? decidedBy(r) : m), decidedBy(stillLive[0]!));
    const cap = (rt.policy.maxLifetimeSeconds + 5) * 1000;
    const soon = delivered.length > 0 || stillLive.some((r) => r.usedOnChain);
    const deferMs = Math.min(cap, soon ? 5000 : cap, Math.max(1000, Number(first - now.time) * 1000 + 1000));
    return {
      end: 'deferred',
      ms: deferMs,
      message: `stopping (${stop.reason ?? 'done'}): ${stillLive.length} authorization(s) left to expire`,
    };
  }

  // Tokens of payments that settled lately may still be on their way: wait for them, up to the
  // delivery timeout, rather than record a claim a second too early. Likewise tokens the agent
  // holds and could not forward this turn (bounded the same way, delivery.ts).
  const undelivered = await undeliveredPayments(rt, tally);
  const timeoutMs = getConfig().x402.deliveryTimeoutMs;
  if (undelivered.some((p) => p.settledForMs < timeoutMs) || tally.forwardPending)
    return { waitMs: POLL_MS, outlastsCancel: true };
  await claimUndelivered(rt, tally, undelivered);
  const missing = Math.min(mintsOf(undelivered), Math.max(0, tally.paid - tally.delivered));
  return finish(ending.outcome === 'completed' ? ending : stop, missing);
}

/**
 * Live payments the seller answered 2xx without settling whose mints were delivered: all but the
 * latest (paid − delivered) of them (sellers deliver in the order they are paid).
 */
function deliveredUnsettled(live: OpenPayment[], tally: DeliveryTally): OpenPayment[] {
  const answered = live.filter(isAnsweredUnsettled).sort((a, b) => a.sequenceNumber - b.sequenceNumber);
  const undelivered = latestBuying(answered, tally.paid - tally.delivered);
  return answered.slice(0, answered.length - undelivered.length);
}

/** What the task ends with: its outcome, and the message the loop writes (a claim's note for a cancel). */
function finish(ending: Ending, missing: number): TurnEnd {
  const claimNote =
    missing > 0
      ? ` The seller was paid for ${missing} mint(s) it did not deliver; a claim is recorded for each payment.`
      : '';
  if (ending.outcome === 'completed') return { end: 'completed' };
  if (ending.outcome === 'cancelled') return { end: 'cancelled', message: claimNote.trim() || undefined };
  return { end: 'failed', message: `${ending.reason}${claimNote}` };
}
