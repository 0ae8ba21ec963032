import type { Address } from 'viem';
import { getSql } from '@/db/client';
import { getPublicClient } from '../chain/clients';
import { AppError } from '../errors';

/** The agent has transactions the node holds unmined: whoever wants the wallet waits for them with no lock held. */
export class AgentBusy extends AppError {
  constructor(readonly agentAddress: Address) {
    super('conflict:wallet', 'A transaction of this agent wallet is still being mined; try again in a moment.');
  }
}

const inFlight = async (agent: Address) => {
  const client = getPublicClient();
  const [mined, pending] = await Promise.all([
    client.getTransactionCount({ address: agent, blockTag: 'latest' }),
    client.getTransactionCount({ address: agent, blockTag: 'pending' }),
  ]);
  return pending > mined;
};

/**
 * Runs `fn` holding a Postgres advisory lock on the agent wallet, with none of the agent's
 * transactions in flight, so two withdrawals (in any web process) never both spend the same
 * refundable USDC, and no worker claims a task of this wallet meanwhile (claimNextTask tries the
 * same key, `agent-wallet:<id>`, and skips the wallet). Holders send, they do not wait for
 * blocks: a withdrawal lets go once the node has its transfer, and the next holder finds it in
 * flight (AgentBusy) until it is mined, so balances read under the lock are never stale.
 * The lock is a short transaction's (let go on commit, rollback or a lost connection alike);
 * queries inside `fn` use the pool as usual.
 */
export async function withWalletLock<T>(
  wallet: { id: string; agentAddress: string },
  fn: () => Promise<T>,
): Promise<T> {
  const key = `agent-wallet:${wallet.id}`;
  let done: { value: T } | undefined;
  try {
    await getSql().begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
      if (await inFlight(wallet.agentAddress as Address)) throw new AgentBusy(wallet.agentAddress as Address);
      done = { value: await fn() };
    });
  } catch (error) {
    // `fn` finished (a withdrawal may have been sent) and only the commit failed: the database
    // went away, which let go of the lock too.
    if (done) return done.value;
    throw error;
  }
  return done!.value;
}

/** Waits, holding nothing, until the node holds no unmined transaction of `agent`; false after `timeoutMs`. */
export async function awaitAgentIdle(agent: Address, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await inFlight(agent))) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(getPublicClient().pollingInterval, 250)));
  }
}
