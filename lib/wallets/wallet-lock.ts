import { getSql } from '@/db/client';

/**
 * Runs `fn` holding a Postgres advisory lock on the agent wallet, so two withdrawals (in any
 * web process) never both spend the same refundable USDC, and no worker claims a task of this
 * wallet meanwhile (claimNextTask tries the same key, `agent-wallet:<id>`, and skips the wallet).
 * The lock lives on one reserved connection; other queries inside `fn` use the pool as usual.
 */
export async function withWalletLock<T>(agentWalletId: string, fn: () => Promise<T>): Promise<T> {
  const conn = await getSql().reserve();
  try {
    await conn`select pg_advisory_lock(hashtextextended(${`agent-wallet:${agentWalletId}`}, 0))`;
    try {
      return await fn();
    } finally {
      await conn`select pg_advisory_unlock(hashtextextended(${`agent-wallet:${agentWalletId}`}, 0))`;
    }
  } finally {
    conn.release();
  }
}
