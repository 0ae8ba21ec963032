import { setTimeout as sleep } from 'node:timers/promises';
import { claimDueWebhookDeliveries, markWebhookDelivered, markWebhookFailed } from '@/db/webhooks';
import type { WebhookDelivery } from '@/db/schema';
import type { TaskWithAgent } from '@/db/tasks';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { getMetrics } from '../metrics/registry';
import { toTaskDto } from '../tasks/serialize';
import { DEFAULT_BACKOFF, nextAttemptAfter, type BackoffPolicy } from './backoff';
import { signWebhook, WEBHOOK_HEADERS } from './signature';

// Delivers the outbox (db/webhooks.ts). Runs as its own async loop beside the mint loop: a
// slow or dead receiver costs this loop at most `timeoutMs` per delivery and never the worker.

export type DispatchOptions = {
  url?: string;
  secret?: string;
  timeoutMs?: number;
  batchSize?: number;
  backoff?: BackoffPolicy;
};

const DEFAULT_TIMEOUT_MS = 5_000;

const TASK_DATES = ['createdAt', 'updatedAt', 'fundedAt', 'startedAt', 'completedAt', 'lockedUntil', 'nextAttemptAt'];

/** A task event's outbox row holds the task row as db/ wrote it; receivers get the API's shape. */
function dataOf(row: Pick<WebhookDelivery, 'event' | 'taskId' | 'payload'>): unknown {
  if (!row.taskId || !row.event.startsWith('task.')) return row.payload;
  const task = { ...(row.payload as Record<string, unknown>) };
  for (const key of TASK_DATES) if (typeof task[key] === 'string') task[key] = new Date(task[key]);
  return toTaskDto(task as TaskWithAgent);
}

/** The exact bytes POSTed for a delivery (stable across retries). */
export function webhookBody(row: Pick<WebhookDelivery, 'id' | 'event' | 'taskId' | 'createdAt' | 'payload'>): string {
  return JSON.stringify({
    id: row.id.toString(),
    event: row.event,
    createdAt: row.createdAt.toISOString(),
    data: dataOf(row),
  });
}

async function post(row: WebhookDelivery, url: string, secret: string, timeoutMs: number): Promise<string | null> {
  const body = webhookBody(row);
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'AgentMint-Webhooks/1',
    [WEBHOOK_HEADERS.event]: row.event,
    [WEBHOOK_HEADERS.delivery]: row.id.toString(),
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, timestamp, body),
  };
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (error) {
    const failure = error as Error & { cause?: { code?: string } };
    return failure.name === 'TimeoutError'
      ? `timeout after ${timeoutMs} ms`
      : `${failure.cause?.code ?? failure.name}: ${failure.message}`.slice(0, 300);
  }
}

/** Claims and delivers what is due now, once. Returns how many went through and how many failed. */
export async function dispatchDueWebhooks(
  options: DispatchOptions = {},
): Promise<{ delivered: number; failed: number }> {
  const url = options.url ?? getConfig().webhook?.url;
  const secret = options.secret ?? getConfig().webhook?.secret;
  // Never unsigned: config refuses WEBHOOK_URL without WEBHOOK_SECRET, and so does this.
  if (!url || !secret) return { delivered: 0, failed: 0 };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const metrics = getMetrics();
  const log = getLogger();
  const rows = await claimDueWebhookDeliveries({ limit: options.batchSize ?? 20, leaseMs: timeoutMs * 2 + 30_000 });
  let delivered = 0;
  let failed = 0;
  // One at a time, oldest first: events of a task usually reach the receiver in order.
  for (const row of rows) {
    const error = await post(row, url, secret, timeoutMs);
    const fields = {
      deliveryId: row.id.toString(),
      event: row.event,
      taskId: row.taskId ?? undefined,
      attempt: row.attempts,
    };
    if (!error) {
      await markWebhookDelivered({ id: row.id });
      metrics.webhooksDelivered.inc({ event: row.event });
      log.debug(fields, 'webhook delivered');
      delivered++;
      continue;
    }
    const next = nextAttemptAfter(row.attempts, backoff);
    await markWebhookFailed({ id: row.id, error, nextAttemptAt: next });
    metrics.webhooksFailed.inc({ event: row.event });
    failed++;
    if (next) log.info({ ...fields, error, retryAt: next.toISOString() }, 'webhook delivery failed, will retry');
    else log.error({ ...fields, error }, 'webhook delivery failed for good (dead)');
  }
  return { delivered, failed };
}

export type WebhookDispatcher = { done: Promise<void> };

/**
 * Polls the outbox every `pollMs` until `signal` aborts. Without WEBHOOK_URL it returns at once.
 * Errors (database down) are logged and the loop carries on.
 */
export function startWebhookDispatcher({
  signal,
  pollMs = 1_000,
  ...options
}: DispatchOptions & { signal?: AbortSignal; pollMs?: number } = {}): WebhookDispatcher {
  if (!(options.url ?? getConfig().webhook?.url)) return { done: Promise.resolve() };
  const done = (async () => {
    while (!signal?.aborted) {
      let busy = false;
      try {
        const { delivered, failed } = await dispatchDueWebhooks(options);
        busy = delivered + failed > 0;
      } catch (error) {
        getLogger().warn({ err: error instanceof Error ? error.message : String(error) }, 'webhook dispatcher error');
      }
      if (!busy) await sleep(pollMs, undefined, { signal }).catch(() => {});
    }
  })();
  return { done };
}
