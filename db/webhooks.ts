import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { getDb, type DbExecutor } from './client';
import { databaseSettings } from './settings';
import {
  aiAgentWallets,
  webhookDeliveries,
  type Task,
  type TaskStatus,
  type TaskWithAgent,
  type WebhookDelivery,
} from './schema';

// The webhook outbox. Rows are written in the same transaction as the change they announce,
// so an event exists exactly when its change committed; the dispatcher delivers them later.

export type DbOrTx = DbExecutor;

export const TASK_WEBHOOK_EVENTS: Partial<Record<TaskStatus, string>> = {
  funded: 'task.funded',
  completed: 'task.completed',
  failed: 'task.failed',
  cancelled: 'task.cancelled',
};

export async function insertWebhookDelivery(
  db: DbOrTx,
  { event, taskId, payload }: { event: string; taskId?: string | null; payload: unknown },
): Promise<WebhookDelivery> {
  const [row] = await db
    .insert(webhookDeliveries)
    .values({ event, taskId: taskId ?? null, payload })
    .returning();
  return row!;
}

/**
 * Queues the webhook for a task that just reached `task.status`, with the task as it is at that
 * moment (the row and its agent address; the dispatcher shapes it for HTTP). No-op without
 * WEBHOOK_URL or for statuses without an event.
 */
export async function enqueueTaskWebhook(db: DbOrTx, task: Task): Promise<void> {
  const event = TASK_WEBHOOK_EVENTS[task.status];
  if (!event || !databaseSettings().taskWebhooks) return;
  const [wallet] = await db
    .select({ agentAddress: aiAgentWallets.agentAddress })
    .from(aiAgentWallets)
    .where(eq(aiAgentWallets.id, task.agentWalletId));
  // The signed funding request and authorization stay out of the outbox: no receiver needs them.
  const {
    fundingRequest: _request,
    fundingAuthorization: _authorization,
    ...snapshot
  } = { ...task, agentAddress: wallet!.agentAddress };
  await insertWebhookDelivery(db, {
    event,
    taskId: task.id,
    payload: snapshot satisfies Omit<TaskWithAgent, 'fundingRequest' | 'fundingAuthorization'>,
  });
}

/**
 * Claims up to `limit` due deliveries: FOR UPDATE SKIP LOCKED so dispatchers in several
 * workers never take the same row, and the claim pushes next_attempt_at out by `leaseMs` so a
 * dispatcher that dies mid-POST leaves the row to be retried, not lost.
 */
export async function claimDueWebhookDeliveries({
  limit,
  leaseMs,
}: {
  limit: number;
  leaseMs: number;
}): Promise<WebhookDelivery[]> {
  const due = getDb()
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, 'pending'), sql`${webhookDeliveries.nextAttemptAt} <= now()`))
    .orderBy(webhookDeliveries.nextAttemptAt, webhookDeliveries.id)
    .limit(limit)
    .for('update', { skipLocked: true });
  return getDb()
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      nextAttemptAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
    })
    .where(sql`${webhookDeliveries.id} in (${due})`)
    .returning();
}

export async function markWebhookDelivered({ id }: { id: bigint }) {
  await getDb()
    .update(webhookDeliveries)
    .set({ status: 'delivered', deliveredAt: new Date(), lastError: null })
    .where(eq(webhookDeliveries.id, id));
}

/** Records a failed attempt: retried at `nextAttemptAt`, or dead when there is none. */
export async function markWebhookFailed({
  id,
  error,
  nextAttemptAt,
}: {
  id: bigint;
  error: string;
  nextAttemptAt: Date | null;
}) {
  await getDb()
    .update(webhookDeliveries)
    .set(
      nextAttemptAt
        ? { lastError: error.slice(0, 500), nextAttemptAt }
        : { lastError: error.slice(0, 500), status: 'dead' },
    )
    .where(eq(webhookDeliveries.id, id));
}

export async function listWebhookDeliveries({ limit, taskId }: { limit: number; taskId?: string }) {
  return getDb()
    .select()
    .from(webhookDeliveries)
    .where(taskId ? eq(webhookDeliveries.taskId, taskId) : undefined)
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit);
}

/**
 * Queues `event` unless one was queued within `withinMs` (any process). A transaction-scoped
 * advisory lock makes check-and-insert atomic across workers. Returns whether it queued.
 */
export async function enqueueWebhookOnce({
  event,
  payload,
  withinMs,
}: {
  event: string;
  payload: unknown;
  withinMs: number;
}) {
  return getDb().transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhook:${event}`}))`);
    const since = new Date(Date.now() - withinMs);
    const [recent] = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.event, event), gte(webhookDeliveries.createdAt, since)))
      .limit(1);
    if (recent) return false;
    await insertWebhookDelivery(tx, { event, payload });
    return true;
  });
}
