import { getTaskProgress } from '@/db/task-queue';
import { transitionTask } from '@/db/tasks';
import {
  countX402PaymentsByTask,
  insertX402Payments,
  listOpenX402PaymentsByTask,
  listUnpaidX402SequencesByTask,
  markX402PaymentsSent,
  recordX402Progress,
  resolveX402Payments,
  type X402PaymentRow,
  type X402Resolution,
} from '@/db/x402-payments';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import type { Outcome } from '../reporter';
import { deliverTokens } from './delivery';
import { signPayments } from './payment';
import { ensureSigner, type X402Runtime } from './runtime';
import { assertLease } from '../fence';
import { EXPIRY_MARGIN_SECONDS, sendPayment, type SendResult } from './send';
import { cancelOnChain, chainVerdict } from './settlement';

/** An endpoint refused payments (they were cancelled on chain): counts as a failed attempt. */
export class X402RefusedError extends Error {
  name = 'X402RefusedError';
}

export type BatchResult = { outcome?: Outcome; message?: string; waitMs?: number; paced?: boolean };

// When the first payment of the task settled, per task run (for the late-token deadline).
const lastSettled = new Map<string, number>();

/**
 * One turn of an x402 task: resolve what the ledger left open (re-sending each open payment as
 * it is), sign payments for unpaid mints up to MINT_BATCH_SIZE in flight, write them to the
 * ledger, send them all at once, then record what the chain confirms and forward tokens.
 */
export async function runX402Batch(rt: X402Runtime): Promise<BatchResult> {
  const progress = await getTaskProgress({ id: rt.task.id });
  if (!progress || progress.status !== 'processing') return { outcome: 'released' };
  await ensureSigner(rt);
  const [counts, open] = await Promise.all([
    countX402PaymentsByTask({ taskId: rt.task.id }),
    listOpenX402PaymentsByTask({ taskId: rt.task.id }),
  ]);

  if (progress.cancelRequested) {
    await closePayments(rt, open, 'task cancelled');
    await recordProgress(rt);
    const cancelled = await transitionTask({
      id: rt.task.id,
      from: 'processing',
      to: 'cancelled',
      set: { lockedBy: null, lockedUntil: null },
    });
    return { outcome: cancelled ? 'cancelled' : 'released' };
  }

  // Open payments too close to expiry to send are judged by the chain once expired; meanwhile
  // their mints wait (a new authorization for a mint is signed only when the old one is dead).
  const now = Date.now();
  const sendable = open.filter((r) => (r.validBefore.getTime() - now) / 1000 >= EXPIRY_MARGIN_SECONDS);
  const expiring = open.filter((r) => !sendable.includes(r));
  const expired = await resolveExpired(rt, expiring);

  const batchSize = getConfig().worker.batchSize;
  const fresh: X402PaymentRow[] = [];
  if (counts.settled + open.length < rt.task.quantity && sendable.length < batchSize) {
    const sequences = await listUnpaidX402SequencesByTask({
      taskId: rt.task.id,
      quantity: rt.task.quantity,
      limit: batchSize - sendable.length,
    });
    if (sequences.length > 0) {
      const live = counts.settledAmount + open.reduce((sum, r) => sum + BigInt(r.amount), 0n);
      const signed = await signPayments(rt, sequences, live);
      const ids = await insertX402Payments({
        taskId: rt.task.id,
        workerId: rt.workerId,
        payments: signed,
        limit: rt.policy.funding,
      });
      crashPoint('after-ledger-write');
      signed.forEach((p, i) =>
        fresh.push({
          ...p,
          id: ids[i]!,
          status: 'signed',
          httpStatus: null,
          settlementTxHash: null,
          error: null,
          createdAt: new Date(),
          sentAt: null,
        }),
      );
    }
  }

  const batch = [...sendable, ...fresh];
  await markX402PaymentsSent({ ids: batch.filter((r) => r.status === 'signed').map((r) => r.id) });
  const started = Date.now();
  await assertLease(rt); // fencing: a worker paused past its lease sends no payment
  const results = await Promise.all(batch.map((row) => sendPayment(rt, row)));
  const { resolutions, refused, price } = await judge(rt, results);
  await resolveX402Payments({ resolutions });
  for (const r of resolutions) if (r.status === 'settled') lastSettled.set(rt.task.id, Date.now());
  const task = await recordProgress(rt);
  for (const r of results)
    if (r.kind === 'settled')
      rt.reporter.minted(rt.task, { sequenceNumber: r.row.sequenceNumber, txHash: r.txHash ?? '' });
  rt.reporter.batchRecorded(rt.task, {
    confirmed: resolutions.filter((r) => r.status === 'settled').length,
    failed: refused.length,
    durationMs: Date.now() - started,
  });

  if (price) {
    const message = `The endpoint now asks ${price.price} base units per mint, more than the ${rt.terms.requirement.amount} probed; nothing more was paid.`;
    const failed = await transitionTask({
      id: rt.task.id,
      from: 'processing',
      to: 'failed',
      set: { errorMessage: message, lockedBy: null, lockedUntil: null },
    });
    return { outcome: failed ? 'failed' : 'released', message };
  }
  if (refused.length > 0)
    throw new X402RefusedError(
      `The endpoint refused a payment (${refused[0]!.reason}); it was cancelled on chain and is not paid.`,
    );
  if (task.delivered >= rt.task.quantity) {
    const completed = await transitionTask({
      id: rt.task.id,
      from: 'processing',
      to: 'completed',
      set: { completedAt: new Date(), errorMessage: null, lockedBy: null, lockedUntil: null },
    });
    return { outcome: completed ? 'completed' : 'released' };
  }
  if (task.paid >= rt.task.quantity) return awaitLateTokens(rt, task);
  // Nothing could be sent this turn (all waiting out an expiry): wait for the first to expire.
  if (batch.length === 0 && expiring.length > expired) {
    const first = Math.min(...expiring.map((r) => r.validBefore.getTime()));
    return { waitMs: Math.max(250, first - Date.now() + 1000) };
  }
  return { paced: true };
}

/** Every open payment the task stops with: used = settled, otherwise cancelled on chain. */
async function closePayments(rt: X402Runtime, open: X402PaymentRow[], reason: string) {
  const resolutions: X402Resolution[] = [];
  for (const row of open) {
    const verdict = await chainVerdict(rt, row);
    const final =
      verdict.state === 'unused'
        ? row.validBefore.getTime() < Date.now()
          ? { state: 'expired' as const }
          : await cancelOnChain(rt, row)
        : verdict;
    resolutions.push(
      final.state === 'settled'
        ? { id: row.id, status: 'settled', settlementTxHash: final.txHash }
        : { id: row.id, status: final.state === 'expired' ? 'expired' : 'cancelled', error: reason },
    );
  }
  await resolveX402Payments({ resolutions });
}

async function resolveExpired(rt: X402Runtime, rows: X402PaymentRow[]) {
  const gone = rows.filter((r) => r.validBefore.getTime() < Date.now() - 1000);
  const resolutions: X402Resolution[] = [];
  for (const row of gone) {
    const verdict = await chainVerdict(rt, row);
    if (verdict.state === 'settled')
      resolutions.push({ id: row.id, status: 'settled', settlementTxHash: verdict.txHash });
    else
      resolutions.push({
        id: row.id,
        status: verdict.state === 'cancelled' ? 'cancelled' : 'expired',
        error: row.error ?? 'expired unused',
      });
  }
  await resolveX402Payments({ resolutions });
  return gone.length;
}

/** Turns answers into ledger resolutions; refused payments are cancelled on chain first. */
async function judge(rt: X402Runtime, results: SendResult[]) {
  const resolutions: X402Resolution[] = [];
  const refused: { reason: string }[] = [];
  let price: { price: bigint } | undefined;
  for (const r of results) {
    if (r.kind === 'settled')
      resolutions.push({
        id: r.row.id,
        status: 'settled',
        httpStatus: r.httpStatus,
        settlementTxHash: r.txHash,
        response: r.response,
      });
    else if (r.kind === 'cancelled') resolutions.push({ id: r.row.id, status: 'cancelled' });
    else if (r.kind === 'refused' || r.kind === 'price') {
      // Still live until cancelled: cancel before anything else is signed for this mint.
      const verdict = await cancelOnChain(rt, r.row);
      const httpStatus = r.kind === 'price' ? 402 : r.httpStatus;
      if (verdict.state === 'settled')
        resolutions.push({ id: r.row.id, status: 'settled', httpStatus, settlementTxHash: verdict.txHash });
      else {
        resolutions.push({ id: r.row.id, status: 'cancelled', httpStatus, error: r.reason });
        if (r.kind === 'price') price = { price: r.price };
        else refused.push({ reason: r.reason });
      }
    }
  }
  return { resolutions, refused, price };
}

/** Recounts the task from the ledger and the chain: paid = settled payments, delivered = paid and forwarded. */
async function recordProgress(rt: X402Runtime) {
  const counts = await countX402PaymentsByTask({ taskId: rt.task.id });
  const delivered = await deliverTokens(rt, counts.settled);
  await recordX402Progress({ taskId: rt.task.id, mintsCompleted: delivered, mintsFailed: counts.refused });
  rt.task.mintsCompleted = Math.min(delivered, rt.task.quantity);
  return { paid: counts.settled, delivered };
}

/** Everything is paid; tokens an endpoint queued arrive later. Poll, forward, and give up after X402_DELIVERY_TIMEOUT_MS. */
async function awaitLateTokens(rt: X402Runtime, task: { paid: number; delivered: number }): Promise<BatchResult> {
  const since = lastSettled.get(rt.task.id) ?? Date.now();
  lastSettled.set(rt.task.id, since);
  if (Date.now() - since > getConfig().x402.deliveryTimeoutMs) {
    lastSettled.delete(rt.task.id);
    const message = `Paid for ${task.paid} mints, but tokens of only ${task.delivered} arrived within ${getConfig().x402.deliveryTimeoutMs / 1000} s.`;
    const failed = await transitionTask({
      id: rt.task.id,
      from: 'processing',
      to: 'failed',
      set: { errorMessage: message, lockedBy: null, lockedUntil: null },
    });
    return { outcome: failed ? 'failed' : 'released', message };
  }
  return { waitMs: 1000 };
}
