import { getSql } from './client';
import type { X402ClaimStatus } from './schema';

// Claims (ai_agent_x402_claims): payments a seller settled without delivering what it sold
// within X402_DELIVERY_TIMEOUT_MS. One per payment, written by the worker when the task stops
// for it; the task card, the ops command and the audit read them with the queries below.

/** A claim as every reader gets it: amounts as decimal strings of base units, addresses lower-case. */
export type X402Claim = {
  id: string;
  taskId: string;
  paymentId: string;
  /** The mint of the task the payment was for. */
  sequenceNumber: number;
  userAddress: string;
  /** The seller's host (the task's endpoint URL without its path or query, which may carry secrets). */
  host: string;
  payTo: string;
  /** USDC the seller took. */
  amount: string;
  settlementTxHash: string | null;
  httpStatus: number | null;
  /** A bounded excerpt of what the seller answered to the paid request. */
  sellerAnswer: string | null;
  token: string;
  /** Token base units that had arrived for the whole task when the claim was made, and what its settled payments should have brought (unknown before a first delivery). */
  arrivedAmount: string;
  expectedAmount: string | null;
  status: X402ClaimStatus;
  createdAt: Date;
  deliveredAt: Date | null;
};

/** Characters of the seller's answer a claim keeps. */
const ANSWER_CHARS = 1000;

/** Writes a claim for each settled payment given (none twice: one claim per payment); returns how many are new. */
export async function insertX402Claims({
  taskId,
  paymentIds,
  arrivedAmount,
  expectedAmount,
}: {
  taskId: string;
  paymentIds: string[];
  arrivedAmount: bigint;
  expectedAmount: bigint | null;
}) {
  if (paymentIds.length === 0) return 0;
  const inserted = await getSql()`
    insert into ai_agent_x402_claims (task_id, payment_id, user_address, pay_to, amount, settlement_tx_hash, http_status,
      seller_answer, token, arrived_amount, expected_amount)
    select p.task_id, p.id, t.user_address, p.pay_to, p.amount, p.settlement_tx_hash, p.http_status,
      left(coalesce(case jsonb_typeof(p.response) when 'string' then p.response #>> '{}' else p.response::text end, p.error), ${ANSWER_CHARS}),
      t.token_address, ${arrivedAmount.toString()}::numeric, ${expectedAmount === null ? null : expectedAmount.toString()}::numeric
    from ai_agent_x402_payments p join ai_agent_tasks t on t.id = p.task_id
    where p.task_id = ${taskId} and p.id = any(${paymentIds}::bigint[]) and p.status = 'settled'
    on conflict (payment_id) do nothing`;
  return inserted.count;
}

/**
 * Marks claims delivered once tokens for them arrived after all: the settled payments (in
 * settlement order) whose mints all fall within the task's first `delivered` are the delivered ones.
 */
export async function markX402ClaimsDelivered({ taskId, delivered }: { taskId: string; delivered: number }) {
  await getSql()`
    with ranked as (
      select id, sum(units) over (order by resolved_at, id) as n from ai_agent_x402_payments
      where task_id = ${taskId} and status = 'settled')
    update ai_agent_x402_claims c set status = 'delivered', delivered_at = now()
    from ranked r where c.payment_id = r.id and r.n <= ${delivered} and c.status = 'open'`;
}

/** The host of a task's endpoint URL as `new URL(url).host` gives it (stored URLs are normalised: lower-case host, no default port). */
const HOST_OF_URL = `substring(t.x402->>'url' from '^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#]+)')`;

const claimColumns = () => getSql()`
  c.id::text, c.task_id as "taskId", c.payment_id::text as "paymentId", p.sequence_number as "sequenceNumber",
  c.user_address as "userAddress", ${getSql().unsafe(HOST_OF_URL)} as host, c.pay_to as "payTo", c.amount::text,
  c.settlement_tx_hash as "settlementTxHash", c.http_status as "httpStatus", c.seller_answer as "sellerAnswer", c.token,
  c.arrived_amount::text as "arrivedAmount", c.expected_amount::text as "expectedAmount", c.status,
  c.created_at as "createdAt", c.delivered_at as "deliveredAt"`;

const claimsFrom = () => getSql()`
  ai_agent_x402_claims c join ai_agent_x402_payments p on p.id = c.payment_id join ai_agent_tasks t on t.id = c.task_id`;

// Timestamps come back as strings from this pool's type parsers.
const withDates = (rows: X402Claim[]) =>
  rows.map((r) => ({
    ...r,
    createdAt: new Date(r.createdAt),
    deliveredAt: r.deliveredAt ? new Date(r.deliveredAt) : null,
  }));

export async function listX402ClaimsByTask({ taskId }: { taskId: string }): Promise<X402Claim[]> {
  return withDates(
    await getSql()<X402Claim[]>`
      select ${claimColumns()} from ${claimsFrom()} where c.task_id = ${taskId} order by c.id`,
  );
}

/** The user's claims, newest first (every task). */
export async function listX402ClaimsByUser({
  userAddress,
  limit = 100,
}: {
  userAddress: string;
  limit?: number;
}): Promise<X402Claim[]> {
  return listX402Claims({ userAddress, limit });
}

/** Which claims an operator asks for: any combination of user, task, seller (payee or host) and status. */
export type X402ClaimFilter = {
  userAddress?: string;
  taskId?: string;
  payTo?: string;
  host?: string;
  status?: X402ClaimStatus;
  limit?: number;
};

/** Every user's claims, or those the filter names, newest first: what the operator reviews. */
export async function listX402Claims({
  userAddress,
  taskId,
  payTo,
  host,
  status,
  limit = 100,
}: X402ClaimFilter): Promise<X402Claim[]> {
  const sql = getSql();
  const user = userAddress?.toLowerCase() ?? null;
  const payee = payTo?.toLowerCase() ?? null;
  const seller = host?.toLowerCase() ?? null;
  return withDates(
    await sql<X402Claim[]>`
      select ${claimColumns()} from ${claimsFrom()}
      where (${user}::text is null or c.user_address = ${user})
        and (${taskId ?? null}::uuid is null or c.task_id = ${taskId ?? null})
        and (${payee}::text is null or c.pay_to = ${payee})
        and (${seller}::text is null or ${sql.unsafe(HOST_OF_URL)} = ${seller})
        and (${status ?? null}::text is null or c.status = ${status ?? null})
      order by c.created_at desc, c.id desc limit ${limit}`,
  );
}

/** What the record says of a seller: open claims against it (any user's), matched by its payee or its host. */
export type X402SellerClaims = {
  claims: number;
  users: number;
  /** USDC base units those payments took. */
  amount: string;
  lastAt: Date;
  byPayTo: boolean;
  byHost: boolean;
};

/**
 * Open claims against a seller, by payee or by host (a seller may move its payee to a fresh
 * wallet, or sell from several hosts): undefined when it has none. Claims whose tokens arrived
 * after all (`delivered`) do not count.
 */
export async function getX402ClaimsAgainstSeller({
  payTo,
  host,
}: {
  payTo: string;
  host: string;
}): Promise<X402SellerClaims | undefined> {
  const [row] = await getSql()<(Omit<X402SellerClaims, 'lastAt'> & { lastAt: string | null })[]>`
    select count(*)::int as claims, count(distinct c.user_address)::int as users, coalesce(sum(c.amount), 0)::text as amount,
      max(c.created_at) as "lastAt", coalesce(bool_or(c.pay_to = ${payTo.toLowerCase()}), false) as "byPayTo",
      coalesce(bool_or(${getSql().unsafe(HOST_OF_URL)} = ${host.toLowerCase()}), false) as "byHost"
    from ai_agent_x402_claims c join ai_agent_tasks t on t.id = c.task_id
    where c.status = 'open'
      and (c.pay_to = ${payTo.toLowerCase()} or ${getSql().unsafe(HOST_OF_URL)} = ${host.toLowerCase()})`;
  if (!row || row.claims === 0 || !row.lastAt) return undefined;
  return { ...row, lastAt: new Date(row.lastAt) };
}
