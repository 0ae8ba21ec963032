'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { api, FINAL_STATUSES, type TaskDetail, type TaskDto, type TaskEvent } from './api';

export const taskKey = (id: string) => ['task', id] as const;

/** How often a task whose refund is still pending is read again (one small GET). */
const REFUND_POLL_MS = 2_000;

/**
 * One task, kept current: fetched through react-query (so the chat card, the list and the
 * detail view share it) and, while it is funded or minting, updated from the server-sent
 * events route. Pending tasks do not hold a stream open: browsers allow only ~6 HTTP/1.1
 * connections per host, and a chat history can show many unpaid tasks.
 */
export function useTask(id: string, initial?: TaskDto) {
  const queryClient = useQueryClient();
  const query = useQuery<TaskDetail>({
    queryKey: taskKey(id),
    queryFn: () => api.task(id),
    initialData: initial,
    initialDataUpdatedAt: 0,
    // The refund of what an ended task left unspent follows its end by a moment (or a worker tick).
    refetchInterval: (query) => (query.state.data?.refund?.status === 'pending' ? REFUND_POLL_MS : false),
  });
  const status = query.data?.status;
  const live = status === 'funded' || status === 'processing';

  // A refund seen going out while this card is shown (not one already sent when it mounted): the
  // wallet panel's balance changes now, not at its next 15 s poll.
  const refund = query.data?.refund?.status;
  const refundWas = useRef(refund);
  useEffect(() => {
    if (refund === 'sent' && refundWas.current !== 'sent') void queryClient.invalidateQueries({ queryKey: ['wallet'] });
    refundWas.current = refund;
  }, [refund, queryClient]);

  useEffect(() => {
    if (!live) return;
    const source = new EventSource(`/api/ai-agent/task/${encodeURIComponent(id)}/events`);
    const onEvent = (message: MessageEvent<string>) => {
      let event: Partial<TaskEvent>;
      try {
        event = JSON.parse(message.data) as Partial<TaskEvent>;
      } catch {
        return;
      }
      if (!event.status) return;
      queryClient.setQueryData<TaskDetail>(taskKey(id), (old) =>
        old
          ? {
              ...old,
              status: event.status!,
              mintsCompleted: event.mintsCompleted ?? old.mintsCompleted,
              mintsFailed: event.mintsFailed ?? old.mintsFailed,
            }
          : old,
      );
      // New mints carry transaction hashes the event does not: refetch the task (with its mints).
      if (!FINAL_STATUSES.includes(event.status)) void queryClient.invalidateQueries({ queryKey: taskKey(id) });
      if (FINAL_STATUSES.includes(event.status)) {
        source.close();
        void queryClient.invalidateQueries({ queryKey: taskKey(id) });
        void queryClient.invalidateQueries({ queryKey: ['tasks'] });
        void queryClient.invalidateQueries({ queryKey: ['wallet'] });
      }
    };
    source.addEventListener('message', onEvent);
    for (const name of ['status', 'progress', 'task']) source.addEventListener(name, onEvent as EventListener);
    // On a dropped stream the browser reconnects by itself; a final status closes it above.
    return () => source.close();
  }, [id, live, queryClient]);

  return query;
}

/** Refetch everything that shows a task after the user changed it. */
export function useTaskInvalidation() {
  const queryClient = useQueryClient();
  return (id: string) =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: taskKey(id) }),
      queryClient.invalidateQueries({ queryKey: ['tasks'] }),
      queryClient.invalidateQueries({ queryKey: ['wallet'] }),
    ]);
}
