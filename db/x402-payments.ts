import { getSql } from './client';
import { holdsTaskLease, leasedTaskQuery, LeaseLostError } from './mint-records';
import type { X402PaymentStatus } from './schema';
import { progressOf, selectProgressNotifying, type NotifiedProgress } from './task-queue';

// The x402 payment ledger (ai_agent_x402_payments): a row per EIP-3009 authorization the agent
// signs, written before the request that carries it is sent, resolved from the endpoint's
// answer and the chain. Amounts are numeric in SQL and decimal strings here.

export type NewX402Payment = {
  /** The first mint the payment buys. */
  sequenceNumber: number;
  /** Mints it buys: sequenceNumber .. sequenceNumber + units - 1. */
  units: number;
  nonce: string;
  authorization: Record<string, string>;
  signature: string;
  amount: string;
  payTo: string;
  validBefore: Date;
};

export type X402PaymentRow = NewX402Payment & {
  id: string;
  status: X402PaymentStatus;
  httpStatus: number | null;
  settlementTxHash: string | null;
  error: string | null;
  createdAt: Date;
  sentAt: Date | null;
};

/**
 * Writes a batch of signed payments in one statement that first checks this worker still holds
 * the task's lease and that the task's payments, live and settled, stay within `limit` (its
 * funding). All or nothing: when it writes nothing, the caller must not send any of them.
 * The partial unique index refuses a second open row for a mint (never two live authorizations).
 */
export async function insertX402Payments({
  taskId,
  workerId,
  payments,
  limit,
}: {
  taskId: string;
  workerId: string;
  payments: NewX402Payment[];
  limit: bigint;
}) {
  const sql = getSql();
  const col = <K extends keyof NewX402Payment>(k: K) =>
    payments.map((p) =>
      k === 'validBefore' ? (p[k] as Date).toISOString() : k === 'authorization' ? JSON.stringify(p[k]) : String(p[k]),
    );
  const total = payments.reduce((sum, p) => sum + BigInt(p.amount), 0n);
  const written = await sql<{ id: string }[]>`
    with owned as (${leasedTaskQuery({ taskId, workerId })} for update),
    spent as (
      select coalesce(sum(amount), 0) as amount from ai_agent_x402_payments
      where task_id = ${taskId} and (status in ('signed', 'sent', 'settled') or (status = 'unpaid' and valid_before > now())))
    insert into ai_agent_x402_payments (task_id, sequence_number, units, nonce, "authorization", signature, amount, pay_to, valid_before, status)
    select owned.id, v.seq, v.units, v.nonce, v.auth::jsonb, v.sig, v.amount, v.pay_to, v.valid_before, 'signed'
    from owned cross join spent cross join unnest(${sql.array(col('sequenceNumber'))}::int[], ${sql.array(col('units'))}::int[], ${sql.array(col('nonce'))}::text[],
      ${sql.array(col('authorization'))}::text[], ${sql.array(col('signature'))}::text[], ${sql.array(col('amount'))}::numeric[],
      ${sql.array(col('payTo'))}::text[], ${sql.array(col('validBefore'))}::timestamptz[]) as v(seq, units, nonce, auth, sig, amount, pay_to, valid_before)
    where spent.amount + ${total.toString()}::numeric <= ${limit.toString()}::numeric
    returning id::text`.catch((error: unknown) => {
    // ai_agent_x402_payments_no_overlap (migration 0015): a mint already has an open or settled payment.
    if ((error as { code?: string }).code !== '23P01') throw error;
    const mints = payments.map((p) => `${p.sequenceNumber}..${p.sequenceNumber + p.units - 1}`).join(', ');
    throw new Error(`task ${taskId}: mints ${mints} overlap a payment already open or settled; not signing them`);
  });
  if (written.length === payments.length) return written.map((w) => w.id);
  if (!(await holdsTaskLease({ taskId, workerId }))) throw new LeaseLostError(taskId);
  throw new Error(`task ${taskId}: these payments would exceed the task's funding of ${limit}; not signing them`);
}

export async function markX402PaymentsSent({ ids }: { ids: string[] }) {
  if (ids.length === 0) return;
  await getSql()`update ai_agent_x402_payments set status = 'sent', sent_at = coalesce(sent_at, now()) where id = any(${ids}::bigint[]) and status = 'signed'`;
}

export type X402Resolution = {
  id: string;
  status: Exclude<X402PaymentStatus, 'signed' | 'sent'>;
  httpStatus?: number | null;
  settlementTxHash?: string | null;
  response?: unknown;
  error?: string | null;
};

/** Closes open payments (settled, cancelled, expired, unpaid) in one statement; a closed row is never reopened. */
export async function resolveX402Payments({ resolutions }: { resolutions: X402Resolution[] }) {
  if (resolutions.length === 0) return;
  const sql = getSql();
  const col = (f: (r: X402Resolution) => unknown) =>
    resolutions.map((r) => {
      const value = f(r);
      return value === undefined || value === null ? null : String(value);
    });
  await sql`
    update ai_agent_x402_payments p set status = v.status, http_status = coalesce(v.http_status, p.http_status),
      settlement_tx_hash = coalesce(v.tx, p.settlement_tx_hash), response = coalesce(v.response::jsonb, p.response),
      error = coalesce(v.error, p.error), resolved_at = now()
    from unnest(${sql.array(col((r) => r.id))}::bigint[], ${sql.array(col((r) => r.status))}::text[], ${sql.array(col((r) => r.httpStatus))}::int[],
      ${sql.array(col((r) => r.settlementTxHash))}::text[], ${sql.array(col((r) => (r.response === undefined ? undefined : JSON.stringify(r.response))))}::text[],
      ${sql.array(col((r) => r.error))}::text[]) as v(id, status, http_status, tx, response, error)
    where p.id = v.id and p.status in ('signed', 'sent')`;
}

/** Replaces the stored answer of a settled payment (with what its status route said, worker/x402/status-route.ts). */
export async function setX402PaymentResponse({ id, response }: { id: string; response: unknown }) {
  await getSql()`update ai_agent_x402_payments set response = ${JSON.stringify(response)}::jsonb where id = ${id}::bigint and status = 'settled'`;
}

/** What an endpoint answered to a payment still open (a 429, a 5xx, a timeout): kept for operators. */
export async function noteX402PaymentAnswer({
  id,
  httpStatus,
  error,
}: {
  id: string;
  httpStatus: number | null;
  error: string;
}) {
  await getSql()`update ai_agent_x402_payments set http_status = ${httpStatus}, error = ${error} where id = ${id}::bigint and status in ('signed', 'sent')`;
}

const paymentColumns = () => getSql()`
    id::text, sequence_number as "sequenceNumber", units, nonce, "authorization", signature, amount::text, pay_to as "payTo",
    valid_before as "validBefore", status, http_status as "httpStatus", settlement_tx_hash as "settlementTxHash", error,
    created_at as "createdAt", sent_at as "sentAt"`;

// Timestamps come back as strings from this pool's type parsers; rows carry Dates.
const withDates = (rows: X402PaymentRow[]) =>
  rows.map((r) => ({
    ...r,
    validBefore: new Date(r.validBefore),
    createdAt: new Date(r.createdAt),
    sentAt: r.sentAt ? new Date(r.sentAt) : null,
  }));

export async function listOpenX402PaymentsByTask({ taskId }: { taskId: string }): Promise<X402PaymentRow[]> {
  return withDates(
    await getSql()<X402PaymentRow[]>`
    select ${paymentColumns()} from ai_agent_x402_payments where task_id = ${taskId} and status in ('signed', 'sent') order by sequence_number`,
  );
}

export async function listX402PaymentsByTask({ taskId }: { taskId: string }): Promise<X402PaymentRow[]> {
  return withDates(
    await getSql()<X402PaymentRow[]>`
    select ${paymentColumns()} from ai_agent_x402_payments where task_id = ${taskId} order by sequence_number, id`,
  );
}

/** Mints of the task no settled or open payment buys (a payment buys sequence_number .. + units - 1), lowest first. */
export async function listUnpaidX402SequencesByTask({
  taskId,
  quantity,
  limit,
}: {
  taskId: string;
  quantity: number;
  limit: number;
}) {
  const rows = await getSql()<{ seq: number }[]>`
    select s.seq from generate_series(1, ${quantity}::int) as s(seq)
    where not exists (select 1 from ai_agent_x402_payments p where p.task_id = ${taskId}
      and s.seq between p.sequence_number and p.sequence_number + p.units - 1
      and (p.status in ('signed', 'sent', 'settled') or (p.status = 'unpaid' and p.valid_before > now())))
    order by s.seq limit ${limit}`;
  return rows.map((r) => r.seq);
}

export type X402Counts = {
  settled: number;
  /** Mints the settled payments bought (= settled where each buys one). */
  settledMints: number;
  open: number;
  refused: number;
  settledAmount: bigint;
  firstSettledAt: Date | null;
  /** Settled payments with an open claim (paid, nothing delivered for them). */
  claims: number;
  /** Mints those claimed payments bought. */
  claimedMints: number;
};

export async function countX402PaymentsByTask({ taskId }: { taskId: string }): Promise<X402Counts> {
  const [row] = await getSql()<
    {
      settled: number;
      settled_mints: number;
      open: number;
      refused: number;
      settled_amount: string;
      first: Date | null;
      claims: number;
      claimed_mints: number;
    }[]
  >`
    select count(*) filter (where status = 'settled')::int as settled,
      coalesce(sum(units) filter (where status = 'settled'), 0)::int as settled_mints, count(*) filter (where status in ('signed', 'sent'))::int as open,
      count(*) filter (where status in ('unpaid', 'cancelled'))::int as refused,
      coalesce(sum(amount) filter (where status = 'settled'), 0)::text as settled_amount, min(created_at) as first,
      (select count(*) from ai_agent_x402_claims c where c.task_id = ${taskId} and c.status = 'open')::int as claims,
      (select coalesce(sum(cp.units), 0) from ai_agent_x402_claims c join ai_agent_x402_payments cp on cp.id = c.payment_id
        where c.task_id = ${taskId} and c.status = 'open')::int as claimed_mints
    from ai_agent_x402_payments where task_id = ${taskId}`;
  return {
    settled: row!.settled,
    settledMints: row!.settled_mints,
    open: row!.open,
    refused: row!.refused,
    settledAmount: BigInt(row!.settled_amount),
    firstSettledAt: row!.first ? new Date(row!.first) : null,
    claims: row!.claims,
    claimedMints: row!.claimed_mints,
  };
}

/** The task's settled payments in settlement order, each with its mints and how long ago the ledger recorded it settled. */
export async function listSettledX402PaymentsByTask({ taskId }: { taskId: string }) {
  return getSql()<{ id: string; sequenceNumber: number; units: number; settledForMs: number }[]>`
    select id::text, sequence_number as "sequenceNumber", units,
      (extract(epoch from now() - coalesce(resolved_at, created_at)) * 1000)::float8 as "settledForMs"
    from ai_agent_x402_payments where task_id = ${taskId} and status = 'settled' order by resolved_at, id`;
}

/**
 * USDC that open authorizations of the wallet's ended tasks could still move (a task ends with
 * none in the normal course; this keeps any that remain out of a withdrawal until the chain
 * says they are dead). Funded and processing tasks reserve their whole remainder already.
 */
export async function sumLiveX402AuthorizationsByWallet({ agentWalletId }: { agentWalletId: string }) {
  const [row] = await getSql()<{ amount: string }[]>`
    select coalesce(sum(p.amount), 0)::text as amount
    from ai_agent_x402_payments p join ai_agent_tasks t on t.id = p.task_id
    where t.agent_wallet_id = ${agentWalletId} and t.status not in ('funded', 'processing')
      and (p.status in ('signed', 'sent') or (p.status = 'unpaid' and p.valid_before > now()))`;
  return BigInt(row!.amount);
}

/** Sets the task's counters (mints done = paid and, where needed, forwarded) and notifies watchers. */
export async function recordX402Progress({
  taskId,
  mintsCompleted,
  mintsFailed,
}: {
  taskId: string;
  mintsCompleted: number;
  mintsFailed: number;
}) {
  const [row] = await getSql()<NotifiedProgress[]>`
    with task as (
      update ai_agent_tasks set mints_completed = least(quantity, ${mintsCompleted}::int), mints_failed = ${mintsFailed}::int, updated_at = now()
      where id = ${taskId}
      returning id, user_address, status, mints_completed, mints_failed, quantity, cancel_requested)
    ${selectProgressNotifying()}`;
  return progressOf(row);
}
