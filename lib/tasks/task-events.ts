import { getSql, type Sql } from '@/db/client';
import { TASK_EVENTS_CHANNEL, type TaskEvent } from '@/db/tasks';
import { getLogger } from '../log';

// One LISTEN per process, fanned out in memory to every SSE stream that watches a task.
// postgres.js keeps LISTEN on its own dedicated connection and re-listens after a drop; since
// events sent while it was down are lost, every subscriber is told to re-read its task then.

export type TaskEventSubscriber = {
  onEvent(event: TaskEvent): void;
  /** The LISTEN connection was re-established: events may have been missed. */
  onResync(): void;
};

type Hub = { sql: Sql; ready: Promise<void>; byTask: Map<string, Set<TaskEventSubscriber>> };
const holder = globalThis as unknown as { __agentMintTaskEvents?: Hub };

function dispatch(hub: Hub, payload: string) {
  let event: TaskEvent;
  try {
    event = JSON.parse(payload) as TaskEvent;
  } catch {
    return;
  }
  for (const subscriber of hub.byTask.get(event.taskId) ?? []) subscriber.onEvent(event);
}

function hub(): Hub {
  const sql = getSql();
  // A new pool (tests close and reopen the database) needs its own LISTEN.
  if (holder.__agentMintTaskEvents?.sql === sql) return holder.__agentMintTaskEvents;
  let listens = 0;
  const created: Hub = { sql, byTask: holder.__agentMintTaskEvents?.byTask ?? new Map(), ready: Promise.resolve() };
  created.ready = sql
    .listen(
      TASK_EVENTS_CHANNEL,
      (payload) => dispatch(created, payload),
      () => {
        if (listens++ === 0) return;
        for (const set of created.byTask.values()) for (const s of set) s.onResync();
      },
    )
    .then(() => undefined)
    .catch((error: unknown) => {
      if (holder.__agentMintTaskEvents === created) holder.__agentMintTaskEvents = undefined;
      getLogger().error({ err: error instanceof Error ? error.message : String(error) }, 'task events LISTEN failed');
      throw error;
    });
  holder.__agentMintTaskEvents = created;
  return created;
}

/** Subscribes to one task's events; resolves once LISTEN is active. Returns the unsubscribe. */
export async function subscribeTaskEvents(taskId: string, subscriber: TaskEventSubscriber): Promise<() => void> {
  const events = hub();
  let set = events.byTask.get(taskId);
  if (!set) events.byTask.set(taskId, (set = new Set()));
  set.add(subscriber);
  const unsubscribe = () => {
    const current = events.byTask.get(taskId);
    current?.delete(subscriber);
    if (current?.size === 0) events.byTask.delete(taskId);
  };
  try {
    await events.ready;
  } catch (error) {
    unsubscribe();
    throw error;
  }
  return unsubscribe;
}

/** Streams currently watching tasks in this process (metrics, tests). */
export function countTaskEventSubscribers(): number {
  let count = 0;
  for (const set of holder.__agentMintTaskEvents?.byTask.values() ?? []) count += set.size;
  return count;
}
