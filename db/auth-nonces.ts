import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import { getDb } from './client';
import { authNonces } from './schema';

export async function insertAuthNonce({ nonce, expiresAt }: { nonce: string; expiresAt: Date }) {
  await getDb().insert(authNonces).values({ nonce, expiresAt });
}

/**
 * Marks the nonce used if it exists, is unused and unexpired — one UPDATE, so two requests
 * presenting the same nonce at once can never both succeed. True when this call consumed it.
 */
export async function consumeAuthNonce({ nonce, now = new Date() }: { nonce: string; now?: Date }): Promise<boolean> {
  const rows = await getDb()
    .update(authNonces)
    .set({ usedAt: now })
    .where(and(eq(authNonces.nonce, nonce), isNull(authNonces.usedAt), gt(authNonces.expiresAt, now)))
    .returning({ nonce: authNonces.nonce });
  return rows.length === 1;
}

export async function deleteExpiredAuthNonces({ before }: { before: Date }) {
  await getDb().delete(authNonces).where(lt(authNonces.expiresAt, before));
}
