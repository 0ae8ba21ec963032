import { getSql } from './client';

// The refund that follows a task's end (lib/wallets/refund.ts): which ended tasks have not been
// looked at since, what failed tasks keep for a retry, and the x402 authorizations of ended
// tasks that still reserve money.

/** Ended tasks whose money may be left in the wallet: completed or cancelled after funding arrived or was on its way. */
const endedUnrefunded = () => getSql()`
  t.status in ('completed', 'cancelled') and t.refund_checked_at is null
  and (t.funded_at is not null or t.funding_submitted_at is not null)`;

/**
 * Wallets with an ended task no refund has looked at yet and no task that uses the wallet now
 * (funded, processing, or a funding on its way), the least recently looked at first (an ended
 * task's updated_at is its last refund attempt), so a wallet that stays busy never starves the
 * others. The partial index on unrefunded ended tasks keeps this cheap however many tasks there are.
 */
export async function listRefundDueWallets({ limit }: { limit: number }): Promise<string[]> {
  const rows = await getSql()<{ id: string }[]>`
    select t.agent_wallet_id as id from ai_agent_tasks t
    where ${endedUnrefunded()}
      and not exists (
        select 1 from ai_agent_tasks b where b.agent_wallet_id = t.agent_wallet_id
          and (b.status in ('funded', 'processing') or (b.status = 'pending_payment' and b.funding_submitted_at is not null)))
    group by t.agent_wallet_id
    order by max(t.updated_at)
    limit ${limit}`;
  return rows.map((r) => r.id);
}

/** The wallet's ended tasks a refund has not looked at yet. */
export async function listUnrefundedTaskIdsByWallet({ agentWalletId }: { agentWalletId: string }): Promise<string[]> {
  const rows = await getSql()<{ id: string }[]>`
    select t.id from ai_agent_tasks t where t.agent_wallet_id = ${agentWalletId} and ${endedUnrefunded()}`;
  return rows.map((r) => r.id);
}

/** The refund has looked at these tasks: it sent `txHash` (their leftover, and the wallet's), or there was nothing to send, or the setting keeps it. */
export async function markTasksRefundChecked({ ids, txHash }: { ids: string[]; txHash?: string }) {
  if (ids.length === 0) return;
  await getSql()`
    update ai_agent_tasks set refund_checked_at = now(), refund_tx_hash = ${txHash ?? null}, updated_at = now()
    where id = any(${getSql().array(ids)}::uuid[]) and refund_checked_at is null`;
}

/** A refund tried and will try again: these tasks go to the back of the tick's queue. */
export async function touchUnrefundedTasks({ ids }: { ids: string[] }) {
  if (ids.length === 0) return;
  await getSql()`update ai_agent_tasks set updated_at = now() where id = any(${getSql().array(ids)}::uuid[]) and refund_checked_at is null`;
}

/** What the wallet's failed tasks still need to finish: kept for a retry (retryTask checks it is there). */
export async function sumHeldForRetryByWallet({ agentWalletId }: { agentWalletId: string }): Promise<bigint> {
  const [row] = await getSql()<{ held: string }[]>`
    select coalesce(sum((quantity - mints_completed) * price_per_mint), 0)::text as held
    from ai_agent_tasks where agent_wallet_id = ${agentWalletId} and status = 'failed'`;
  return BigInt(row!.held);
}

export type OpenAuthorization = { id: string; asset: string; nonce: string; validBefore: bigint };

/** Authorizations of the wallet's ended tasks still open in the ledger (they reserve money until the chain says they are dead). */
export async function listOpenX402AuthorizationsOfEndedTasks({
  agentWalletId,
}: {
  agentWalletId: string;
}): Promise<OpenAuthorization[]> {
  const rows = await getSql()<{ id: string; asset: string; nonce: string; validBefore: string }[]>`
    select p.id::text, t.x402->'requirement'->>'asset' as asset, p.nonce, (p.authorization->>'validBefore') as "validBefore"
    from ai_agent_x402_payments p join ai_agent_tasks t on t.id = p.task_id
    where t.agent_wallet_id = ${agentWalletId} and t.status not in ('funded', 'processing') and p.status in ('signed', 'sent')`;
  return rows.map((r) => ({ ...r, validBefore: BigInt(r.validBefore) }));
}
