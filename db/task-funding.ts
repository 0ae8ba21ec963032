import { and, eq, getTableColumns, isNotNull, ne, sql } from 'drizzle-orm';
import { getDb } from './client';
import { databaseSettings } from './settings';
import { aiAgentTasks, aiAgentWallets } from './schema';
import type { DbExecutor, TaskWithAgent } from './tasks';

// First key of the two-int advisory lock: keeps funding locks apart from any other lock user.
const FUNDING_LOCK_SPACE = 3009;

export class LockBusy extends Error {}

/**
 * Runs `work` in a transaction holding the funding lock of `userAddress`, across every process
 * on this database. Funding is serialised per user rather than per task so two tasks can never
 * both claim one authorization nonce. `work` checks, submits and returns: nothing under this
 * lock waits for a block (a submitted transfer is recorded on its task, and waited for after the
 * lock is let go), so a holder keeps its connection for round trips, not for seconds. Waiters
 * poll with try-lock instead of blocking, holding no connection.
 */
export async function withUserFundingLock<T>(
  userAddress: string,
  work: (db: DbExecutor) => Promise<T>,
  {
    waitMs,
    connections = 2,
  }: {
    waitMs: number;
    /** The most pool connections `work` holds at once, the lock's own included. */ connections?: number;
  },
): Promise<T> {
  const deadline = Date.now() + waitMs;
  const busy = Symbol('busy');
  for (;;) {
    const result = await withPoolShare(connections, () =>
      getDb().transaction(async (tx) => {
        const [row] = await tx.execute<{ locked: boolean }>(
          sql`select pg_try_advisory_xact_lock(${FUNDING_LOCK_SPACE}, hashtext(${userAddress.toLowerCase()})) as locked`,
        );
        if (!row?.locked) return busy;
        return work(tx);
      }),
    );
    if (result !== busy) return result as T;
    if (Date.now() > deadline) throw new LockBusy();
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 40));
  }
}

// A holder keeps its transaction's connection and needs more for the queries inside `work` (the
// submission markers are committed on their own, and the operator's nonce lock takes one). As
// many holders as the pool has connections would each wait for one that never frees: 20 users
// funding at once on a pool of 10 hung the process. So holders start only while the connections
// they may hold together fit in the pool; the rest wait here, holding none. Other queries take a
// connection briefly and give it back, so they cannot close the circle.
let shared = 0;
const queued: { share: number; go: () => void }[] = [];

async function withPoolShare<T>(connections: number, fn: () => Promise<T>): Promise<T> {
  const poolMax = databaseSettings().poolMax;
  const share = Math.min(connections, poolMax);
  if (queued.length > 0 || shared + share > poolMax) await new Promise<void>((go) => queued.push({ share, go }));
  else shared += share;
  try {
    return await fn();
  } finally {
    shared -= share;
    while (queued.length > 0 && shared + queued[0]!.share <= poolMax) {
      const next = queued.shift()!;
      shared += next.share;
      next.go();
    }
  }
}

const withAgent = { ...getTableColumns(aiAgentTasks), agentAddress: aiAgentWallets.agentAddress };

export async function getTaskByIdIn(db: DbExecutor, { id }: { id: string }): Promise<TaskWithAgent | undefined> {
  const [row] = await db
    .select(withAgent)
    .from(aiAgentTasks)
    .innerJoin(aiAgentWallets, eq(aiAgentTasks.agentWalletId, aiAgentWallets.id))
    .where(eq(aiAgentTasks.id, id));
  return row;
}

/** Another task of this user that already recorded this authorization nonce. */
export async function getOtherTaskByFundingNonce(
  db: DbExecutor,
  { userAddress, nonce, exceptId }: { userAddress: string; nonce: string; exceptId: string },
) {
  const [row] = await db
    .select({ id: aiAgentTasks.id })
    .from(aiAgentTasks)
    .where(
      and(
        eq(aiAgentTasks.userAddress, userAddress.toLowerCase()),
        eq(aiAgentTasks.fundingNonce, nonce.toLowerCase()),
        ne(aiAgentTasks.id, exceptId),
      ),
    );
  return row;
}

/** Records a funding transfer that landed on a task that is no longer pending (no status change). */
export async function recordLateFundingTx(
  db: DbExecutor,
  { id, txHash, nonce, authorization }: { id: string; txHash: string; nonce: string; authorization: unknown },
) {
  await db
    .update(aiAgentTasks)
    .set({
      fundingTxHash: txHash,
      fundingAuthorization: authorization,
      fundingNonce: nonce.toLowerCase(),
      updatedAt: new Date(),
    })
    .where(and(eq(aiAgentTasks.id, id), sql`${aiAgentTasks.fundingTxHash} is null`));
}

/**
 * Records (committed at once, outside the funding lock's transaction, so a crash after the send
 * cannot lose it) that the task's authorization is about to be submitted: from here its cost
 * counts as reserved (sumReservedUsdcByWallet), even if the fund request then times out before
 * the receipt, until the task leaves pending_payment. The authorization is stored with it, so
 * whoever finds the transfer mined can mark the task funded from it. False when the task no
 * longer awaits payment (cancelled meanwhile): then nothing may be sent.
 */
export async function markFundingSubmitted({
  id,
  nonce,
  authorization,
}: {
  id: string;
  nonce: string;
  authorization: unknown;
}): Promise<boolean> {
  const rows = await getDb()
    .update(aiAgentTasks)
    .set({
      fundingSubmittedAt: new Date(),
      fundingNonce: nonce.toLowerCase(),
      fundingAuthorization: authorization,
      fundingSubmittedTxHash: null,
    })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')))
    .returning({ id: aiAgentTasks.id });
  return rows.length > 0;
}

/** The node has the submitted transfer: later posts and withdrawals wait for this hash. */
export async function recordFundingSubmittedTx({ id, txHash }: { id: string; txHash: string }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingSubmittedTxHash: txHash.toLowerCase() })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}

/** The submission never reached the chain (refused, or dropped unmined): nothing is arriving after all. */
export async function clearFundingSubmitted({ id }: { id: string }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingSubmittedAt: null, fundingNonce: null, fundingAuthorization: null, fundingSubmittedTxHash: null })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}

/** The user's funding transfers the node was given and no task has settled yet (awaiting payment). */
export async function listSubmittedFundingTxsByUser({ userAddress }: { userAddress: string }): Promise<string[]> {
  const rows = await getDb()
    .select({ txHash: aiAgentTasks.fundingSubmittedTxHash })
    .from(aiAgentTasks)
    .where(
      and(
        eq(aiAgentTasks.userAddress, userAddress.toLowerCase()),
        eq(aiAgentTasks.status, 'pending_payment'),
        isNotNull(aiAgentTasks.fundingSubmittedTxHash),
      ),
    );
  return rows.map((r) => r.txHash!);
}
