import { asc, desc, eq, getTableColumns, inArray } from 'drizzle-orm';
import { getDb, getSql } from './client';
import { aiAgentMintRecords, aiAgentTasks, aiAgentWallets, TASK_STATUSES, type TaskStatus } from './schema';
import type { TaskWithAgent } from './tasks';

// Read-only aggregates for metrics, the stats API, the admin page and the ops command.
// Days are UTC calendar days; gas is Σ gas_used × effective_gas_price over the mint ledger
// (funding and top-up transactions are the operator's and are not in the ledger).

export type DailyStatsRow = {
  day: string;
  tasksCompleted: number;
  tasksFailed: number;
  mints: number;
  avgTaskSeconds: number | null;
  gasSpentWei: string;
};

export async function countTasksByStatus(): Promise<Record<TaskStatus, number>> {
  const rows = await getSql()<{ status: TaskStatus; n: string }[]>`
    select status, count(*)::text as n from ai_agent_tasks group by status`;
  const out = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

export async function countMintRecordsByStatus(): Promise<Record<string, number>> {
  const rows = await getSql()<{ status: string; n: string }[]>`
    select status, count(*)::text as n from ai_agent_mint_records group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function sumGasSpentWei(): Promise<bigint> {
  const [row] = await getSql()<{ wei: string }[]>`
    select coalesce(sum(gas_used * effective_gas_price), 0)::text as wei
    from ai_agent_mint_records where gas_used is not null and effective_gas_price is not null`;
  return BigInt(row?.wei ?? '0');
}

/** Agent addresses of wallets with a funded or processing task, busiest first, at most `limit`. */
export async function listActiveAgentAddresses({ limit }: { limit: number }): Promise<string[]> {
  const rows = await getSql()<{ agent_address: string }[]>`
    select w.agent_address from ai_agent_tasks t join ai_agent_wallets w on w.id = t.agent_wallet_id
    where t.status in ('funded', 'processing')
    group by w.agent_address order by count(*) desc, w.agent_address limit ${limit}`;
  return rows.map((r) => r.agent_address);
}

/** One row per UTC day for the last `days` days (today included), oldest first, zeros filled. */
export async function listDailyStats({
  days,
  now = new Date(),
}: {
  days: number;
  now?: Date;
}): Promise<DailyStatsRow[]> {
  const DAY_MS = 86_400_000;
  const start = new Date((Math.floor(now.getTime() / DAY_MS) - (days - 1)) * DAY_MS);
  const rows = await getSql()<
    { day: string; completed: string; failed: string; mints: string; avg_s: string | null; gas: string }[]
  >`
    with days as (
      select ((${start.toISOString()}::timestamptz at time zone 'utc')::date + g) as day from generate_series(0, ${days - 1}::int) as g
    ), t as (
      select (coalesce(completed_at, updated_at) at time zone 'utc')::date as day,
        count(*) filter (where status = 'completed') as completed,
        count(*) filter (where status = 'failed') as failed,
        avg(extract(epoch from completed_at - started_at)) filter (where status = 'completed' and started_at is not null) as avg_s
      from ai_agent_tasks
      -- The worker's failed transition does not set completed_at; updated_at is that moment.
      where status in ('completed', 'failed') and coalesce(completed_at, updated_at) >= ${start.toISOString()}::timestamptz
      group by 1
    ), m as (
      select (coalesce(confirmed_at, sent_at, created_at) at time zone 'utc')::date as day,
        count(*) filter (where status = 'confirmed') as mints,
        coalesce(sum(gas_used * effective_gas_price), 0) as gas
      from ai_agent_mint_records
      where coalesce(confirmed_at, sent_at, created_at) >= ${start.toISOString()}::timestamptz
      group by 1
    )
    select to_char(days.day, 'YYYY-MM-DD') as day,
      coalesce(t.completed, 0)::text as completed, coalesce(t.failed, 0)::text as failed,
      coalesce(m.mints, 0)::text as mints, t.avg_s::text as avg_s, coalesce(m.gas, 0)::text as gas
    from days left join t on t.day = days.day left join m on m.day = days.day
    order by days.day`;
  return rows.map((r) => ({
    day: r.day,
    tasksCompleted: Number(r.completed),
    tasksFailed: Number(r.failed),
    mints: Number(r.mints),
    avgTaskSeconds: r.avg_s === null ? null : Math.round(Number(r.avg_s) * 10) / 10,
    gasSpentWei: r.gas,
  }));
}

/** Every user's tasks, newest first, optionally by status: the operator's view of the queue. */
export async function listTasksForOperator({
  status,
  limit,
}: {
  status?: TaskStatus[];
  limit: number;
}): Promise<TaskWithAgent[]> {
  return getDb()
    .select({ ...getTableColumns(aiAgentTasks), agentAddress: aiAgentWallets.agentAddress })
    .from(aiAgentTasks)
    .innerJoin(aiAgentWallets, eq(aiAgentTasks.agentWalletId, aiAgentWallets.id))
    .where(status?.length ? inArray(aiAgentTasks.status, status) : undefined)
    .orderBy(desc(aiAgentTasks.createdAt))
    .limit(limit);
}

/** A task's mint ledger in sequence order (no raw transactions: they are long and not useful here). */
export async function listLedgerByTask({ taskId }: { taskId: string }) {
  const { rawTransaction: _raw, ...columns } = getTableColumns(aiAgentMintRecords);
  return getDb()
    .select(columns)
    .from(aiAgentMintRecords)
    .where(eq(aiAgentMintRecords.taskId, taskId))
    .orderBy(asc(aiAgentMintRecords.sequenceNumber));
}
