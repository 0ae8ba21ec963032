import { and, desc, eq, getTableColumns, inArray, isNotNull, or, sql } from 'drizzle-orm';
import { getDb, getSql, type DbExecutor } from './client';
import { enqueueTaskWebhook } from './webhooks';
import { aiAgentTasks, aiAgentWallets, type NewTask, type Task, type TaskStatus, type TaskWithAgent } from './schema';

// Defined beside the pool and the tables (webhooks.ts needs them too and this file needs
// webhooks.ts); exported here as well, where the task queries' callers look for them.
export type { DbExecutor, TaskWithAgent };

/** Postgres channels: the fund route wakes workers; every status/progress change feeds SSE. */
export const WORKER_WAKE_CHANNEL = 'agent_mint_wake';
export const TASK_EVENTS_CHANNEL = 'agent_mint_task_events';

const withAgent = { ...getTableColumns(aiAgentTasks), agentAddress: aiAgentWallets.agentAddress };

function selectTasks() {
  return getDb()
    .select(withAgent)
    .from(aiAgentTasks)
    .innerJoin(aiAgentWallets, eq(aiAgentTasks.agentWalletId, aiAgentWallets.id));
}

/** Inserts a task, in the caller's transaction when it passes one (`db`). */
export async function insertTask(values: NewTask, db: DbExecutor = getDb()): Promise<Task> {
  const [row] = await db.insert(aiAgentTasks).values(values).returning();
  return row!;
}

export async function getTaskById({ id }: { id: string }): Promise<TaskWithAgent | undefined> {
  const [row] = await preparedReads().byId.execute({ id });
  return row;
}

// The hottest reads (the user API's two, and the worker's read of a task it claims) are prepared
// once per pool: building a drizzle query costs ~0.5 ms of CPU per call, several times the query
// itself (measured for bench:api).
function preparedReads() {
  const db = getDb();
  let reads = preparedByDb.get(db);
  if (!reads) {
    const base = () =>
      db
        .select(withAgent)
        .from(aiAgentTasks)
        .innerJoin(aiAgentWallets, eq(aiAgentTasks.agentWalletId, aiAgentWallets.id));
    reads = {
      byId: base()
        .where(eq(aiAgentTasks.id, sql.placeholder('id')))
        .prepare('task_by_id'),
      byIdForUser: base()
        .where(
          and(eq(aiAgentTasks.id, sql.placeholder('id')), eq(aiAgentTasks.userAddress, sql.placeholder('userAddress'))),
        )
        .prepare('task_by_id_for_user'),
      byUser: base()
        .where(eq(aiAgentTasks.userAddress, sql.placeholder('userAddress')))
        .orderBy(desc(aiAgentTasks.createdAt))
        .limit(sql.placeholder('limit'))
        .prepare('tasks_by_user'),
    };
    preparedByDb.set(db, reads);
  }
  return reads;
}
type PreparedTaskRead = ReturnType<ReturnType<typeof selectTasks>['prepare']>;
const preparedByDb = new WeakMap<
  object,
  { byId: PreparedTaskRead; byIdForUser: PreparedTaskRead; byUser: PreparedTaskRead }
>();

/** The task only if `userAddress` owns it: callers answer 404 otherwise. */
export async function getTaskByIdForUser({
  id,
  userAddress,
}: {
  id: string;
  userAddress: string;
}): Promise<TaskWithAgent | undefined> {
  const [row] = await preparedReads().byIdForUser.execute({ id, userAddress: userAddress.toLowerCase() });
  return row;
}

export async function listTasksByUser({
  userAddress,
  limit,
  status,
}: {
  userAddress: string;
  limit: number;
  status?: TaskStatus[];
}): Promise<TaskWithAgent[]> {
  if (!status?.length) return preparedReads().byUser.execute({ userAddress: userAddress.toLowerCase(), limit });
  const conditions = [eq(aiAgentTasks.userAddress, userAddress.toLowerCase())];
  conditions.push(inArray(aiAgentTasks.status, status));
  return selectTasks()
    .where(and(...conditions))
    .orderBy(desc(aiAgentTasks.createdAt))
    .limit(limit);
}

/**
 * The one way a task changes status: a single UPDATE guarded by the expected current status,
 * so two actors can never both move it. Returns the updated task, or undefined when the task
 * was not in `from` (the caller reads it again to say why).
 */
export async function transitionTask({
  id,
  from,
  to,
  set = {},
  db,
}: {
  id: string;
  from: TaskStatus | TaskStatus[];
  to: TaskStatus;
  set?: Partial<NewTask>;
  db?: DbExecutor;
}): Promise<Task | undefined> {
  // Own transaction unless the caller has one: the webhook outbox row commits with the change.
  if (!db) return getDb().transaction((tx) => transitionTask({ id, from, to, set, db: tx }));
  const expected = Array.isArray(from) ? from : [from];
  const [row] = await db
    .update(aiAgentTasks)
    .set({ ...set, status: to, updatedAt: new Date() })
    .where(and(eq(aiAgentTasks.id, id), inArray(aiAgentTasks.status, expected)))
    .returning();
  if (row && !expected.includes(to)) await enqueueTaskWebhook(db, row);
  if (row) await notifyTaskEvent(row, db);
  return row;
}

export type TaskEvent = {
  taskId: string;
  userAddress: string;
  status: TaskStatus;
  mintsCompleted: number;
  mintsFailed: number;
  quantity: number;
};

export function taskEventOf(task: Task): TaskEvent {
  return {
    taskId: task.id,
    userAddress: task.userAddress,
    status: task.status,
    mintsCompleted: task.mintsCompleted,
    mintsFailed: task.mintsFailed,
    quantity: task.quantity,
  };
}

/** Tells every listener (SSE streams in any web process) that the task changed. */
export async function notifyTaskEvent(task: Task, db?: DbExecutor) {
  // Inside a transaction the notification is delivered on commit, never for a rolled-back change.
  if (db) await db.execute(sql`select pg_notify(${TASK_EVENTS_CHANNEL}, ${JSON.stringify(taskEventOf(task))})`);
  else await getSql()`select pg_notify(${TASK_EVENTS_CHANNEL}, ${JSON.stringify(taskEventOf(task))})`;
}

export async function wakeWorkers(taskId: string) {
  await getSql()`select pg_notify(${WORKER_WAKE_CHANNEL}, ${taskId})`;
}

/**
 * Sum of what active tasks of this wallet still need (the USDC a withdraw must leave behind):
 * funded and processing tasks, and pending ones whose authorization was submitted (its USDC may
 * be arriving right now, before the task is marked funded).
 */
export async function sumReservedUsdcByWallet({ agentWalletId }: { agentWalletId: string }): Promise<bigint> {
  const [row] = await getDb()
    .select({
      reserved: sql<string>`coalesce(sum((${aiAgentTasks.quantity} - ${aiAgentTasks.mintsCompleted}) * ${aiAgentTasks.pricePerMint}), 0)::text`,
    })
    .from(aiAgentTasks)
    .where(
      and(
        eq(aiAgentTasks.agentWalletId, agentWalletId),
        or(
          inArray(aiAgentTasks.status, ['funded', 'processing']),
          and(eq(aiAgentTasks.status, 'pending_payment'), isNotNull(aiAgentTasks.fundingSubmittedAt)),
        ),
      ),
    );
  return BigInt(row?.reserved ?? '0');
}

export async function setFundingRequest({ id, fundingRequest }: { id: string; fundingRequest: unknown }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingRequest })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}
