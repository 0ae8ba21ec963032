import { getSql } from '@/db/client';
import { getTaskProgress } from '@/db/task-queue';
import { TASK_EVENTS_CHANNEL, type TaskEvent } from '@/db/tasks';

// A user's cancel reaches a running task within moments, whatever wait it is in (a 429's
// Retry-After, pacing, a backoff): the cancel route's guarded update notifies the task's event
// (transitionTask, db/tasks.ts), this process hears it on one shared LISTEN and checks the task's
// cancel_requested. The lease renewal reads the flag too (every LEASE_MS/3), should a
// notification be missed.

type Watched = { callbacks: Set<() => void>; last?: string };
const watched = new Map<string, Watched>();
let listening: Promise<{ unlisten: () => Promise<void> }> | undefined;

function onTaskEvent(payload: string) {
  let event: Partial<TaskEvent>;
  try {
    event = JSON.parse(payload) as Partial<TaskEvent>;
  } catch {
    return;
  }
  const entry = typeof event.taskId === 'string' ? watched.get(event.taskId) : undefined;
  if (!entry) return;
  // A batch's settle notifies with new counters; the cancel flag's flip notifies with the counters
  // unchanged. Only such an event is worth a query: a contract task's settles (one per batch)
  // would otherwise cost one each.
  const counters = `${event.status}:${event.mintsCompleted}:${event.mintsFailed}`;
  const moved = entry.last !== undefined && entry.last !== counters;
  entry.last = counters;
  if (moved) return;
  void getTaskProgress({ id: event.taskId! })
    .then((progress) => {
      if (progress?.cancelRequested) for (const callback of entry.callbacks) callback();
    })
    .catch(() => undefined);
}

/** Calls `onCancel` when the user asks to cancel the task; returns the function that stops watching. */
export function watchCancel(taskId: string, onCancel: () => void): () => void {
  let entry = watched.get(taskId);
  if (!entry) watched.set(taskId, (entry = { callbacks: new Set() }));
  entry.callbacks.add(onCancel);
  if (!listening) {
    const started = getSql().listen(TASK_EVENTS_CHANNEL, onTaskEvent);
    listening = started;
    started.catch(() => {
      if (listening === started) listening = undefined;
    });
  }
  return () => {
    entry.callbacks.delete(onCancel);
    if (entry.callbacks.size === 0) watched.delete(taskId);
    if (watched.size === 0 && listening) {
      const stopping = listening;
      listening = undefined;
      void stopping.then((l) => l.unlisten()).catch(() => undefined);
    }
  };
}
