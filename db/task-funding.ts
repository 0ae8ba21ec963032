import { and, eq, getTableColumns, ne, sql } from 'drizzle-orm';
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
 * both claim one authorization nonce. Waiters poll with try-lock instead of blocking, so they
 * hold no pooled connection while the holder waits for its receipt.
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
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
}

// A holder keeps its transaction's connection for a whole receipt wait and needs more for the
// queries inside `work`. As many holders as the pool has connections would each wait for one
// that never frees: 20 users funding at once on a pool of 10 hung the process. So holders start
// only while the connections they may hold together fit in the pool; the rest wait here, holding
// none. Other queries take a connection briefly and give it back, so they cannot close the circle.
let shared = 0;
const queued: { n: number; go: () => void }[] = [];

async function withPoolShare<T>(connections: number, fn: () => Promise<T>): Promise<T> {
  const poolMax = databaseSettings().poolMax;
  const n = Math.min(connections, poolMax);
  if (queued.length > 0 || shared + n > poolMax) await new Promise<void>((go) => queued.push({ n, go }));
  else shared += n;
  try {
    return await fn();
  } finally {
    shared -= n;
    while (queued.length > 0 && shared + queued[0]!.n <= poolMax) {
      const next = queued.shift()!;
      shared += next.n;
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
 * Marks (committed at once, outside the funding transaction) that the task's authorization is
 * about to be submitted: from here its cost counts as reserved (sumReservedUsdcByWallet), even
 * if the fund request then times out before the receipt, until the task leaves pending_payment.
 */
export async function markFundingSubmitted({ id }: { id: string }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingSubmittedAt: new Date() })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}

/** The submission was refused before it could reach the chain: nothing is arriving after all. */
export async function clearFundingSubmitted({ id }: { id: string }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingSubmittedAt: null })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}
