import { and, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { getDb, getSql } from './client';
import { aiAgentTasks, aiAgentWallets, type NewTask, type Task, type TaskStatus } from './schema';

/** A task with its agent wallet's address, the shape every reader needs. */
export type TaskWithAgent = Task & { agentAddress: string };

/** Postgres channels: the fund route wakes workers; every status/progress change feeds SSE. */
export const WORKER_WAKE_CHANNEL = 'agent_mint_wake';
export const TASK_EVENTS_CHANNEL = 'agent_mint_task_events';

const withAgent = { ...getTableColumns(aiAgentTasks), agentAddress: aiAgentWallets.agentAddress };

function selectTasks() {
  return getDb().select(withAgent).from(aiAgentTasks).innerJoin(aiAgentWallets, eq(aiAgentTasks.agentWalletId, aiAgentWallets.id));
}

export async function insertTask(values: NewTask): Promise<Task> {
  const [row] = await getDb().insert(aiAgentTasks).values(values).returning();
  return row!;
}

export async function getTaskById({ id }: { id: string }): Promise<TaskWithAgent | undefined> {
  const [row] = await selectTasks().where(eq(aiAgentTasks.id, id));
  return row;
}

/** The task only if `userAddress` owns it: callers answer 404 otherwise. */
export async function getTaskByIdForUser({ id, userAddress }: { id: string; userAddress: string }) {
  const [row] = await selectTasks().where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.userAddress, userAddress.toLowerCase())));
  return row;
}

export async function listTasksByUser({ userAddress, limit, status }: { userAddress: string; limit: number; status?: TaskStatus[] }) {
  const conditions = [eq(aiAgentTasks.userAddress, userAddress.toLowerCase())];
  if (status?.length) conditions.push(inArray(aiAgentTasks.status, status));
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
}: {
  id: string;
  from: TaskStatus | TaskStatus[];
  to: TaskStatus;
  set?: Partial<NewTask>;
}): Promise<Task | undefined> {
  const expected = Array.isArray(from) ? from : [from];
  const [row] = await getDb()
    .update(aiAgentTasks)
    .set({ ...set, status: to, updatedAt: new Date() })
    .where(and(eq(aiAgentTasks.id, id), inArray(aiAgentTasks.status, expected)))
    .returning();
  if (row) await notifyTaskEvent(row);
  return row;
}

export type TaskEvent = { taskId: string; userAddress: string; status: TaskStatus; mintsCompleted: number; mintsFailed: number; quantity: number };

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
export async function notifyTaskEvent(task: Task) {
  await getSql()`select pg_notify(${TASK_EVENTS_CHANNEL}, ${JSON.stringify(taskEventOf(task))})`;
}

export async function wakeWorkers(taskId: string) {
  await getSql()`select pg_notify(${WORKER_WAKE_CHANNEL}, ${taskId})`;
}

/** Sum of what active tasks of this wallet still need (the USDC a withdraw must leave behind). */
export async function sumReservedUsdcByWallet({ agentWalletId }: { agentWalletId: string }): Promise<bigint> {
  const [row] = await getDb()
    .select({
      reserved: sql<string>`coalesce(sum((${aiAgentTasks.quantity} - ${aiAgentTasks.mintsCompleted}) * ${aiAgentTasks.pricePerMint}), 0)::text`,
    })
    .from(aiAgentTasks)
    .where(and(eq(aiAgentTasks.agentWalletId, agentWalletId), inArray(aiAgentTasks.status, ['funded', 'processing'])));
  return BigInt(row?.reserved ?? '0');
}

export async function setFundingRequest({ id, fundingRequest }: { id: string; fundingRequest: unknown }) {
  await getDb()
    .update(aiAgentTasks)
    .set({ fundingRequest })
    .where(and(eq(aiAgentTasks.id, id), eq(aiAgentTasks.status, 'pending_payment')));
}
