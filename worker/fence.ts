import { getTaskLeaseMs, LeaseLostError } from '@/db/mint-records';
import type { LeaseCheck } from '@/lib/chain/operator-send';

// The lease as a fencing token: checked right before every send a route makes for a task (the
// contract route: a batch, an approval, a rebroadcast, a replacement, a gas top-up, a nonce
// filler; the x402 route: a batch of paid requests, a token forward). A worker that was stopped
// past its lease (a GC pause, SIGSTOP, a slow host) finds another worker owns the task and stops
// with LeaseLostError instead of sending. The check and the send are two steps, so a pause
// between them can still let one send through: what it can send is a transaction already in the
// ledger (same bytes, same nonce and mintId), which the new owner's reconciler settles and the
// mintId keeps from minting twice.
//
// A check proves more than "held now": the database says how long the lease still runs, and no
// other worker can claim the task before that (claimNextTask takes only expired leases). So a
// send shortly after a check, or after a ledger write (which checks the lease in its statement),
// needs no query of its own: unpaced, that was one statement in three per batch. The proof is
// kept for at most PROOF_MS, and only while both this process's monotonic clock and its wall
// clock agree that little time has passed: a process stopped (or a host suspended) past it
// checks again.

/** How long a proven lease is relied on without asking again: far shorter than any lease (LEASE_MS ≥ 1 s, 15 s by default). */
const PROOF_MS = 1_000;
/** Taken off the time the lease still had, for the database's and this host's clocks running at slightly different rates. */
const CLOCK_MARGIN = 0.9;

type Proof = { monotonic: number; wall: number };
const proofs = new WeakMap<object, Proof>();

/**
 * Records that the lease of `ctx`'s task was held, with `leaseMs` still to run, by a statement
 * sent at `checkedAt` (performance.now() before sending; a ledger write's proof).
 */
export function leaseProven(ctx: object, checkedAt: { monotonic: number; wall: number }, leaseMs: number) {
  const valid = Math.min(PROOF_MS, leaseMs * CLOCK_MARGIN);
  proofs.set(ctx, { monotonic: checkedAt.monotonic + valid, wall: checkedAt.wall + valid });
}

/** This moment on both clocks, taken before a statement that checks the lease is sent. */
export const clocks = () => ({ monotonic: performance.now(), wall: Date.now() });

const proven = (ctx: object) => {
  const proof = proofs.get(ctx);
  return proof !== undefined && performance.now() < proof.monotonic && Date.now() < proof.wall;
};

/** Throws LeaseLostError unless `ctx`'s worker still holds the task's lease (asking the database unless a fresh proof says so). */
export async function assertLease(ctx: { task: { id: string }; workerId: string }): Promise<void> {
  if (proven(ctx)) return;
  const checkedAt = clocks();
  const leaseMs = await getTaskLeaseMs({ taskId: ctx.task.id, workerId: ctx.workerId });
  if (leaseMs === undefined) {
    proofs.delete(ctx);
    throw new LeaseLostError(ctx.task.id);
  }
  leaseProven(ctx, checkedAt, leaseMs);
}

/**
 * The lease for a statement about to be sent to check on its way (the operator's nonce lock,
 * lib/chain/operator-send.ts), so that the assertLease right after it needs no query of its own;
 * none while a fresh proof holds. A lease found lost is left to that assertLease to throw.
 */
export function leaseCheck(ctx: { task: { id: string }; workerId: string }): LeaseCheck | undefined {
  if (proven(ctx)) return undefined;
  const checkedAt = clocks();
  return {
    taskId: ctx.task.id,
    workerId: ctx.workerId,
    checked: (leaseMs) => (leaseMs === undefined ? proofs.delete(ctx) : leaseProven(ctx, checkedAt, leaseMs)),
  };
}
