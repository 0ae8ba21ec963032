import { getSql } from '@/db/client';
import { getTaskProgress } from '@/db/task-queue';
import { TASK_EVENTS_CHANNEL } from '@/db/tasks';

// A user's cancel reaches a running x402 task within moments, whatever wait it is in (a 429's
// Retry-After, pacing, a seller's slow answer): the cancel route's guarded update notifies the
// task's event (transitionTask, db/tasks.ts), this process hears it on one shared LISTEN and
// checks the task's cancel_requested. The lease renewal reads the flag too (every LEASE_MS/3),
// should a notification be missed.

type Watcher = () => void;
const watchers = new Map<string, Set<Watcher>>();
let listening: Promise<{ unlisten: () => Promise<void> }> | undefined;

function onTaskEvent(payload: string) {
  let taskId: unknown;
  try {
    taskId = (JSON.parse(payload) as { taskId?: unknown }).taskId;
  } catch {
    return;
  }
  if (typeof taskId !== 'string' || !watchers.has(taskId)) return;
  void getTaskProgress({ id: taskId })
    .then((progress) => {
      if (progress?.cancelRequested) for (const watcher of watchers.get(taskId) ?? []) watcher();
    })
    .catch(() => undefined);
}

/** Calls `onCancel` when the user asks to cancel the task; returns the function that stops watching. */
export function watchCancel(taskId: string, onCancel: Watcher): () => void {
  let set = watchers.get(taskId);
  if (!set) watchers.set(taskId, (set = new Set()));
  set.add(onCancel);
  if (!listening) {
    const started = getSql().listen(TASK_EVENTS_CHANNEL, onTaskEvent);
    listening = started;
    started.catch(() => {
      if (listening === started) listening = undefined;
    });
  }
  return () => {
    set.delete(onCancel);
    if (set.size === 0) watchers.delete(taskId);
    if (watchers.size === 0 && listening) {
      const stopping = listening;
      listening = undefined;
      void stopping.then((l) => l.unlisten()).catch(() => undefined);
    }
  };
}
