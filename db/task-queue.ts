import { getSql } from './client';
import { getTaskById, notifyTaskEvent, TASK_EVENTS_CHANNEL, transitionTask, type TaskWithAgent } from './tasks';

// The worker's side of ai_agent_tasks: claiming with a lease, renewing and releasing it,
// recording progress, and sweeping unpaid tasks. Status changes still go through transitionTask.

/** Serialises claims across every worker so two can never take two tasks of one wallet at once. */
const CLAIM_LOCK = 0x61676d74; // 'agmt'

/** Claimable by status: funded, or processing with its lease run out (its worker died), and not waiting out a backoff. */
const claimable = (t: 't' | 'o') =>
  `(${t}.status = 'funded' or (${t}.status = 'processing' and (${t}.locked_until is null or ${t}.locked_until < now())))
   and (${t}.next_attempt_at is null or ${t}.next_attempt_at <= now())`;

/**
 * Claims the next task: funded, or processing whose lease ran out (its worker died), and not
 * waiting out a backoff, highest priority then oldest. A task is skipped while another task of
 * the same agent wallet holds a live lease, or while a withdrawal holds the wallet's lock: one
 * wallet, one sender, so nonces never collide.
 * Claims are rare (one per task), so one advisory lock makes the wallet check race-free at
 * no real cost; FOR UPDATE SKIP LOCKED still keeps a claim from waiting on a row in use.
 */
export async function claimNextTask(options: {
  workerId: string;
  leaseMs: number;
  exclude?: string[];
}): Promise<TaskWithAgent | undefined> {
  return (await claimNext(options))?.task;
}

/**
 * claimNextTask, and whether another task was waiting to be claimed when it was taken (`more`):
 * a worker filling its slots claims again only then, instead of ending every wake-up with a
 * claim that finds nothing (a transaction of four statements). A task funded after this claim
 * wakes the workers with its own NOTIFY. `more` counts by status and backoff only: a claim it
 * sends may still find nothing (that task's wallet is busy).
 */
export async function claimNext({
  workerId,
  leaseMs,
  exclude = [],
}: {
  workerId: string;
  leaseMs: number;
  exclude?: string[];
}): Promise<{ task: TaskWithAgent; more: boolean } | undefined> {
  const claimed = await getSql().begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${CLAIM_LOCK})`;
    const rows = await tx<{ id: string; more: boolean }[]>`
      with candidate as (
        select t.id from ai_agent_tasks t
        where ${tx.unsafe(claimable('t'))}
          and not (t.id = any(${tx.array(exclude)}::uuid[]))
          and not exists (
            select 1 from ai_agent_tasks o
            where o.agent_wallet_id = t.agent_wallet_id and o.id <> t.id
              and o.status = 'processing' and o.locked_until > now())
          -- A withdrawal holds this wallet's lock while it signs (lib/wallets/withdraw.ts): skip
          -- the wallet until it is done. Taken for this transaction only; after the commit the
          -- task's lease is what a withdrawal sees and refuses on.
          and pg_try_advisory_xact_lock(hashtextextended('agent-wallet:' || t.agent_wallet_id::text, 0))
        order by t.priority desc, t.created_at asc
        limit 1
        for update skip locked
      )
      update ai_agent_tasks t set
        status = 'processing',
        locked_by = ${workerId},
        locked_until = now() + make_interval(secs => ${leaseMs / 1000}),
        attempts = case when t.status = 'funded' then 0 else t.attempts end,
        started_at = coalesce(t.started_at, now()),
        next_attempt_at = null,
        updated_at = now()
      from candidate where t.id = candidate.id
      returning t.id, exists (
        select 1 from ai_agent_tasks o
        where ${tx.unsafe(claimable('o'))} and o.id <> t.id and not (o.id = any(${tx.array(exclude)}::uuid[]))
      ) as more`;
    return rows[0];
  });
  if (!claimed) return undefined;
  const task = await getTaskById({ id: claimed.id });
  if (!task) return undefined;
  await notifyTaskEvent(task);
  return { task, more: claimed.more };
}

/** Extends the lease; undefined means another worker owns the task now (stop at once). */
export async function renewTaskLease({ id, workerId, leaseMs }: { id: string; workerId: string; leaseMs: number }) {
  const rows = await getSql()<{ cancel_requested: boolean }[]>`
    update ai_agent_tasks set locked_until = now() + make_interval(secs => ${leaseMs / 1000})
    where id = ${id} and locked_by = ${workerId} and status = 'processing'
    returning cancel_requested`;
  return rows[0] ? { cancelRequested: rows[0].cancel_requested } : undefined;
}

/**
 * Gives the task back for `ms`: it stays processing and no worker claims it before then. A task
 * that only waits for something to expire (an x402 task's authorizations, by chain time) holds
 * no worker slot meanwhile. Only the lease holder can do it.
 */
export async function deferTask({ id, workerId, ms }: { id: string; workerId: string; ms: number }) {
  await getSql()`
    update ai_agent_tasks set locked_by = null, locked_until = null,
      next_attempt_at = now() + make_interval(secs => ${ms / 1000}), updated_at = now()
    where id = ${id} and locked_by = ${workerId} and status = 'processing'`;
}

/** Gives the task back (graceful shutdown): it stays processing and is claimable at once. */
export async function releaseTaskLease({ id, workerId }: { id: string; workerId: string }) {
  await getSql()`
    update ai_agent_tasks set locked_by = null, locked_until = null, updated_at = now()
    where id = ${id} and locked_by = ${workerId}`;
}

/** blockNumber/gas are null only when a mint was found used on chain but its event is out of range. */
export type ConfirmedMint = {
  sequenceNumber: number;
  txHash: string;
  blockNumber: bigint | null;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
};
export type FailedMint = { sequenceNumber: number; error: string };

export type TaskProgress = {
  id: string;
  status: string;
  mintsCompleted: number;
  mintsFailed: number;
  quantity: number;
  cancelRequested: boolean;
};

const progressColumns = () =>
  getSql()`id, status, mints_completed as "mintsCompleted", mints_failed as "mintsFailed", quantity, cancel_requested as "cancelRequested"`;

/**
 * Ends a statement whose CTE `task` returns the updated task (id, user_address, status,
 * mints_completed, mints_failed, quantity, cancel_requested): selects its progress and, in the
 * same statement, tells watchers with the task's event (the shape of taskEventOf, db/tasks.ts).
 */
export const selectProgressNotifying = () => getSql()`
    select ${progressColumns()},
      pg_notify(${TASK_EVENTS_CHANNEL}, json_build_object('taskId', id, 'userAddress', user_address, 'status', status,
        'mintsCompleted', mints_completed, 'mintsFailed', mints_failed, 'quantity', quantity)::text) as notified
    from task`;

export type NotifiedProgress = TaskProgress & { notified: unknown };

/** The progress in a row of selectProgressNotifying, without pg_notify's result. */
export function progressOf(row: NotifiedProgress | undefined): TaskProgress | undefined {
  if (!row) return undefined;
  const { notified: _, ...progress } = row;
  return progress;
}

// Element type oids for sql.array: an empty array has no element to infer a type from, and
// postgres.js then cannot serialize it (a batch whose mints all failed has no confirmed ones).
const INT4 = 23;
const TEXT = 25;

/**
 * The CTEs that settle mints (`confirmed`, `failed`) and recount the task's counters (`counts`,
 * `task`, which returns the updated task for selectProgressNotifying). Counters are recounted
 * from the ledger rather than incremented, which makes a repeated settle after a crash harmless:
 * the recount reads the rows as this statement leaves them (a row it updates counts with its
 * new status). `written`: the statement also writes rows in a CTE of that name (a ledger write
 * that carries earlier batches' settles, db/mint-records.ts); a failed row it re-signs counts as open.
 */
export function settleMintsCtes({
  taskId,
  confirmed,
  failed,
  written = false,
}: {
  taskId: string;
  confirmed: ConfirmedMint[];
  failed: FailedMint[];
  written?: boolean;
}) {
  const sql = getSql();
  const opt = (v: bigint | null) => (v === null ? null : v.toString());
  const status = written
    ? sql`case when w.id is not null then 'signed' else coalesce(c.status, f.status, r.status) end`
    : sql`coalesce(c.status, f.status, r.status)`;
  return sql`
    confirmed as (
      update ai_agent_mint_records r set status = 'confirmed', tx_hash = v.tx_hash, block_number = v.block_number,
        gas_used = v.gas_used, effective_gas_price = v.price, confirmed_at = now(), sent_at = coalesce(r.sent_at, now())
      from unnest(${sql.array(
        confirmed.map((c) => c.sequenceNumber),
        INT4,
      )}::int[], ${sql.array(
        confirmed.map((c) => c.txHash),
        TEXT,
      )}::text[],
        ${sql.array(
          confirmed.map((c) => opt(c.blockNumber)),
          TEXT,
        )}::bigint[], ${sql.array(
          confirmed.map((c) => opt(c.gasUsed)),
          TEXT,
        )}::numeric[],
        ${sql.array(
          confirmed.map((c) => opt(c.effectiveGasPrice)),
          TEXT,
        )}::numeric[]) as v(seq, tx_hash, block_number, gas_used, price)
      where r.task_id = ${taskId} and r.sequence_number = v.seq and r.status <> 'confirmed'
      returning r.id, r.status),
    failed as (
      update ai_agent_mint_records r set status = 'failed', error = v.error
      from unnest(${sql.array(
        failed.map((f) => f.sequenceNumber),
        INT4,
      )}::int[], ${sql.array(
        failed.map((f) => f.error),
        TEXT,
      )}::text[]) as v(seq, error)
      where r.task_id = ${taskId} and r.sequence_number = v.seq and r.status in ('signed', 'sent')
      returning r.id, r.status),
    counts as (
      select count(*) filter (where ${status} = 'confirmed')::int as done,
             count(*) filter (where ${status} = 'failed')::int as failed
      from ai_agent_mint_records r left join confirmed c on c.id = r.id left join failed f on f.id = r.id
        ${written ? sql`left join written w on w.id = r.id` : sql``}
      where r.task_id = ${taskId}),
    task as (
      update ai_agent_tasks t set mints_completed = counts.done, mints_failed = counts.failed, updated_at = now()
      from counts where t.id = ${taskId}
      returning t.id, t.user_address, t.status, t.mints_completed, t.mints_failed, t.quantity, t.cancel_requested)`;
}

/**
 * Settles mints: ledger rows and the task's counters change in one statement (so in one
 * transaction), and the progress the API shows always equals the ledger. The task event is
 * notified in the same statement; Postgres delivers it at commit. One round trip for the whole
 * settle, where begin, the statements and commit took three.
 */
export async function recordMintProgress({
  taskId,
  confirmed,
  failed,
}: {
  taskId: string;
  confirmed: ConfirmedMint[];
  failed: FailedMint[];
}): Promise<TaskProgress | undefined> {
  const [row] = await getSql()<NotifiedProgress[]>`
    with ${settleMintsCtes({ taskId, confirmed, failed })}
    ${selectProgressNotifying()}`;
  return progressOf(row);
}

/** The fields a worker checks before each batch, in one cheap query. */
export async function getTaskProgress({ id }: { id: string }): Promise<TaskProgress | undefined> {
  const [row] = await getSql()<TaskProgress[]>`select ${progressColumns()} from ai_agent_tasks where id = ${id}`;
  return row;
}

/**
 * Counts one failed attempt (a revert or an unknown error) and sets when any worker may try
 * again: 1 s doubling to 60 s, so MAX_RETRIES=5 gives a paused token ~31 s to come back.
 */
export async function recordTaskAttemptFailure({ id, error }: { id: string; error: string }) {
  const [row] = await getSql()<{ attempts: number; retry_in_ms: number }[]>`
    update ai_agent_tasks set attempts = attempts + 1, error_message = ${error},
      next_attempt_at = now() + make_interval(secs => least(60, power(2, attempts))), updated_at = now()
    where id = ${id} returning attempts, (least(60, power(2, attempts - 1)) * 1000)::int as retry_in_ms`;
  return { attempts: row?.attempts ?? 0, retryInMs: row?.retry_in_ms ?? 1000 };
}

/** Cancels tasks that waited for payment longer than PAYMENT_TIMEOUT seconds. */
export async function expireUnpaidTasks({ timeoutSeconds }: { timeoutSeconds: number }) {
  const rows = await getSql()<{ id: string }[]>`
    select id from ai_agent_tasks
    where status = 'pending_payment' and created_at < now() - make_interval(secs => ${timeoutSeconds})
    limit 100`;
  const expired: string[] = [];
  for (const { id } of rows) {
    const task = await transitionTask({
      id,
      from: 'pending_payment',
      to: 'cancelled',
      set: { errorMessage: 'payment window expired' },
    });
    if (task) expired.push(id);
  }
  return expired;
}
