import type { Hex } from 'viem';
import { clearFundingSubmitted, getTaskByIdIn, recordLateFundingTx } from '@/db/task-funding';
import { transitionTask, type DbExecutor, type TaskWithAgent } from '@/db/tasks';
import { getKnownContracts, getPublicClient } from '../chain/clients';
import { findAuthorizationOutcome, isAuthorizationUsedAt, readChain, type Authorization } from '../chain/eip3009';
import { AppError } from '../errors';
import { getLogger } from '../log';
import type { StoredFunding } from '../tasks/fund-checks';

// A task's funding transfer is submitted under the user's funding lock and recorded on the task
// (lib/tasks/fund-task.ts); it is mined after the lock is let go. Whoever takes the lock next for
// that task (the same request after its wait, a second post, a retry after a timeout, another
// process) settles it from the record here, by what the chain says, never by who sent it.

/** What the transfer recorded on a task awaiting payment has become. */
export type Settled =
  /** The node still holds it (or a pending block uses its nonce): wait, then look again. */
  | { state: 'in_flight'; txHash?: Hex }
  /** It paid the task: the task is funded now (or was cancelled meanwhile and keeps the hash). */
  | { state: 'settled'; task: TaskWithAgent; transitioned: boolean }
  /** It never reached the chain and cannot any more: the record is cleared, the task may be paid again. */
  | { state: 'gone' };

export function authorizationOf(stored: StoredFunding): Authorization {
  const { authorization } = stored;
  return {
    from: authorization.from as Hex,
    to: authorization.to as Hex,
    value: BigInt(authorization.value),
    validAfter: BigInt(authorization.validAfter),
    validBefore: BigInt(authorization.validBefore),
    nonce: authorization.nonce as Hex,
  };
}

const authorizationUsed = (a: Authorization, at: bigint | 'pending') =>
  isAuthorizationUsedAt(getPublicClient(), getKnownContracts().usdc, a.from, a.nonce, at);

/** Settles the submission recorded on `task` (pending_payment, funding_submitted_at set). */
export async function settleSubmittedFunding(db: DbExecutor, task: TaskWithAgent): Promise<Settled> {
  const stored = task.fundingAuthorization as StoredFunding | null;
  if (!stored) {
    // Recorded before this column held the authorization: nothing to settle from.
    await clearFundingSubmitted({ id: task.id });
    return { state: 'gone' };
  }
  const authorization = authorizationOf(stored);
  const client = getPublicClient();
  const hash = task.fundingSubmittedTxHash as Hex | null;
  if (hash) {
    const receipt = await readChain(() => client.getTransactionReceipt({ hash })).catch(() => undefined);
    if (receipt?.status === 'success') return markFunded(db, task, stored, hash);
    if (!receipt && (await client.getTransaction({ hash }).catch(() => undefined)))
      return { state: 'in_flight', txHash: hash };
  }
  // Reverted, dropped, or never known by hash (the send failed midway): the nonce says the rest,
  // read at one block number that the transfer's log is then looked for up to.
  const block = await readChain(() => client.getBlockNumber({ cacheTime: 0 }));
  const [used, usedPending] = await readChain(() =>
    Promise.all([authorizationUsed(authorization, block), authorizationUsed(authorization, 'pending')]),
  );
  if (used) return adoptTransfer(db, task, authorization, stored, block);
  if (usedPending) return { state: 'in_flight' };
  getLogger().warn({ taskId: task.id, txHash: hash }, 'funding transfer never mined; the task may be paid again');
  await clearFundingSubmitted({ id: task.id });
  return { state: 'gone' };
}

/**
 * The authorization's nonce is used on chain (as of block `atBlock`, when the caller read it at
 * one): fund the task from that transaction if it paid exactly this. Refused (409) only on the
 * chain's evidence that it did not (its cancel log, or a transfer that moved something else); no
 * log up to that block yet is a node behind the one that read the nonce: 503, post again.
 */
export async function adoptTransfer(
  db: DbExecutor,
  task: TaskWithAgent,
  a: Authorization,
  stored: StoredFunding,
  atBlock?: bigint,
): Promise<Settled> {
  const outcome = await readChain(async () =>
    findAuthorizationOutcome({
      authorization: a,
      since: task.createdAt,
      atBlock: atBlock ?? (await getPublicClient().getBlockNumber({ cacheTime: 0 })),
    }),
  );
  if (!outcome)
    throw new AppError(
      'unavailable:chain',
      `authorization nonce ${a.nonce} is used on chain, but the node has not returned its transfer yet; post the same authorization again shortly.`,
    );
  if (outcome.kind !== 'transferred') {
    throw new AppError(
      'conflict:fund',
      `authorization nonce ${a.nonce} is already used or cancelled on chain without paying this task; sign a new authorization.`,
    );
  }
  getLogger().info(
    { taskId: task.id, txHash: outcome.txHash },
    'funding authorization used on chain; funding the task from it',
  );
  return markFunded(db, task, stored, outcome.txHash);
}

/**
 * The guarded `pending_payment → funded` UPDATE. When a cancel (the user's, or the payment
 * timeout's) won the race, the hash is kept on the cancelled task, so the wallet view can show
 * the USDC as the user's to withdraw.
 */
async function markFunded(db: DbExecutor, task: TaskWithAgent, stored: StoredFunding, txHash: Hex): Promise<Settled> {
  const funded = await transitionTask({
    id: task.id,
    from: 'pending_payment',
    to: 'funded',
    set: {
      fundingTxHash: txHash,
      fundingAuthorization: stored,
      fundingNonce: stored.authorization.nonce,
      fundingSubmittedTxHash: null,
      fundedAt: new Date(),
    },
    db,
  });
  if (funded) return { state: 'settled', task: { ...funded, agentAddress: task.agentAddress }, transitioned: true };
  const current = await getTaskByIdIn(db, { id: task.id });
  if (!current) throw new AppError('not_found:task', `No task with id ${task.id}.`);
  if (current.status === 'cancelled') {
    await recordLateFundingTx(db, { id: task.id, txHash, nonce: stored.authorization.nonce, authorization: stored });
    return { state: 'settled', task: (await getTaskByIdIn(db, { id: task.id }))!, transitioned: false };
  }
  return { state: 'settled', task: current, transitioned: false };
}
