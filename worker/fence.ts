import { holdsTaskLease, LeaseLostError } from '@/db/mint-records';

/**
 * The lease as a fencing token: called right before every send a route makes for a task (the
 * contract route: a batch, an approval, a rebroadcast, a replacement, a gas top-up, a nonce
 * filler; the x402 route: a batch of paid requests, a token forward). A worker that was stopped past its lease (a GC pause, SIGSTOP, a slow host) finds
 * another worker owns the task and stops with LeaseLostError instead of sending. The check and
 * the send are two steps, so a pause between them can still let one send through: what it can
 * send is a transaction already in the ledger (same bytes, same nonce and mintId), which the new
 * owner's reconciler settles and the mintId keeps from minting twice.
 */
export async function assertLease(ctx: { task: { id: string }; workerId: string }): Promise<void> {
  if (!(await holdsTaskLease({ taskId: ctx.task.id, workerId: ctx.workerId }))) throw new LeaseLostError(ctx.task.id);
}
