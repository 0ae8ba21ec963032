import { getTaskByIdForUser, taskEventOf, type TaskEvent } from '@/db/tasks';
import { FINAL_STATUSES } from '@/db/schema';
import { getLogger } from '../log';
import { takeStreamSlot } from './stream-slots';
import { subscribeTaskEvents } from './task-events';

// A comment line this often keeps an idle event stream open through proxies and load balancers
// that close connections idle for 30–60 s.
export const HEARTBEAT_MS = 15_000;

const encoder = new TextEncoder();
const frame = (event: TaskEvent) => encoder.encode(`event: task\ndata: ${JSON.stringify(event)}\n\n`);

/**
 * Server-sent events for one task the caller already owns: the current state first, then every
 * change as NOTIFY reports it, a comment heartbeat every 15 s (proxies drop idle streams), and
 * the end of the stream after a final status. Takes one of the user's stream slots (429 when
 * none is left) until it ends.
 */
export function createTaskEventStream({
  taskId,
  userAddress,
  signal,
}: {
  taskId: string;
  userAddress: string;
  signal?: AbortSignal;
}) {
  const release = takeStreamSlot(userAddress);
  let cleanup = release;
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      let closed = false;
      let initialSent = false;
      let missed = false;
      let unsubscribe = () => {};
      const heartbeat = setInterval(() => send(encoder.encode(': heartbeat\n\n')), HEARTBEAT_MS);
      const onAbort = () => close();
      cleanup = () => {
        release();
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
      };

      function send(bytes: Uint8Array) {
        if (closed) return;
        try {
          controller.enqueue(bytes);
        } catch {
          cleanup();
        }
      }
      function close() {
        if (closed) return;
        cleanup();
        try {
          controller.close();
        } catch {
          /* already closed by the client */
        }
      }
      function deliver(event: TaskEvent) {
        send(frame(event));
        if (FINAL_STATUSES.includes(event.status)) close();
      }
      async function sendCurrent() {
        const task = await getTaskByIdForUser({ id: taskId, userAddress });
        if (task) deliver(taskEventOf(task));
        else close();
      }
      const resync = () => void sendCurrent().catch(() => close());

      signal?.addEventListener('abort', onAbort);
      if (signal?.aborted) return close();
      try {
        // Listen before reading, so no change between the read and the first event is lost.
        unsubscribe = await subscribeTaskEvents(taskId, {
          onEvent: (event) => (initialSent ? deliver(event) : (missed = true)),
          onResync: resync,
        });
        send(encoder.encode('retry: 3000\n\n'));
        await sendCurrent();
        initialSent = true;
        // Something changed while the first read was in flight: send the state as it is now.
        if (missed) await sendCurrent();
      } catch (error) {
        getLogger().warn(
          { taskId, err: error instanceof Error ? error.message : String(error) },
          'task event stream failed',
        );
        close();
      }
    },
    cancel() {
      cleanup();
    },
  });
}
