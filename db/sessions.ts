import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { getDb } from './client';
import { authSessions, type AuthSession } from './schema';

// Signed-in sessions (see authSessions in schema.ts). Rows are looked up by the SHA-256 of the
// cookie's token; the policy (lifetimes, when to renew) lives in lib/auth/session.ts.

export async function insertSession(row: {
  tokenHash: string;
  userAddress: string;
  chainId: number;
  expiresAt: Date;
  now: Date;
}) {
  await getDb().insert(authSessions).values({
    tokenHash: row.tokenHash,
    userAddress: row.userAddress.toLowerCase(),
    chainId: row.chainId,
    createdAt: row.now,
    renewedAt: row.now,
    expiresAt: row.expiresAt,
  });
}

/** The session if it exists, is not revoked and has not expired at `now`. */
export async function findActiveSession({
  tokenHash,
  now,
}: {
  tokenHash: string;
  now: Date;
}): Promise<AuthSession | undefined> {
  const [row] = await getDb()
    .select()
    .from(authSessions)
    .where(and(eq(authSessions.tokenHash, tokenHash), isNull(authSessions.revokedAt), gt(authSessions.expiresAt, now)))
    .limit(1);
  return row;
}

/** Slides the expiry forward; a session revoked meanwhile stays revoked. */
export async function renewSession({ tokenHash, now, expiresAt }: { tokenHash: string; now: Date; expiresAt: Date }) {
  await getDb()
    .update(authSessions)
    .set({ renewedAt: now, expiresAt })
    .where(and(eq(authSessions.tokenHash, tokenHash), isNull(authSessions.revokedAt)));
}

export async function revokeSession({ tokenHash, now }: { tokenHash: string; now: Date }) {
  await getDb()
    .update(authSessions)
    .set({ revokedAt: now })
    .where(and(eq(authSessions.tokenHash, tokenHash), isNull(authSessions.revokedAt)));
}

/** Revokes every live session of a user ("sign out everywhere"); returns how many. */
export async function revokeUserSessions({ userAddress, now }: { userAddress: string; now: Date }): Promise<number> {
  const rows = await getDb()
    .update(authSessions)
    .set({ revokedAt: now })
    .where(
      and(
        eq(authSessions.userAddress, userAddress.toLowerCase()),
        isNull(authSessions.revokedAt),
        gt(authSessions.expiresAt, now),
      ),
    )
    .returning({ tokenHash: authSessions.tokenHash });
  return rows.length;
}

/** Deletes sessions that ended (expired or revoked) before `before`. */
export async function deleteEndedSessions({ before }: { before: Date }) {
  await getDb()
    .delete(authSessions)
    .where(or(lt(authSessions.expiresAt, before), lt(authSessions.revokedAt, before)));
}
