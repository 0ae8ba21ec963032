import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { transitionTask } from '@/db/tasks';
import { GET as eventsGET } from '@/app/api/ai-agent/task/[taskId]/events/route';
import { countTaskEventSubscribers } from '@/lib/tasks/task-events';
import { MAX_STREAMS_PER_USER, openStreamCount } from '@/lib/tasks/stream-slots';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { BASE, cookieFor, type Cookie } from '../support/routes';

const stack = useTestStack();

const alice = user(1).address;
const bob = user(2).address;
const newTask = () =>
  createPendingTask({ userAddress: alice, token: stack.deployment.tokens[0]!.address, quantity: 3 });

async function open(taskId: string, cookieOrPromise?: Cookie, signal?: AbortSignal) {
  const cookie = await cookieOrPromise;
  const headers: Record<string, string> = cookie ? { cookie } : {};
  return eventsGET(new Request(`${BASE}/api/ai-agent/task/${taskId}/events`, { headers, signal }), {
    params: Promise.resolve({ taskId }),
  });
}

/** Reads SSE frames: `next()` gives the next `task` event's data, or 'closed' at the end. */
function frames(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async function next(timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = raw.split('\n').find((l) => l.startsWith('data: '));
        if (raw.includes('event: task') && data) return JSON.parse(data.slice(6));
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no event in time');
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, r) => setTimeout(() => r(new Error('no event in time')), left)),
      ]);
      if (chunk.done) return 'closed';
      buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
}

describe('GET /api/ai-agent/task/:taskId/events', () => {
  it('sends the current state, then each transition, and ends at a final status', async () => {
    const task = await newTask();
    const res = await open(task.id, cookieFor(alice));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const next = frames(res);
    expect(await next()).toMatchObject({ taskId: task.id, status: 'pending_payment', mintsCompleted: 0, quantity: 3 });

    await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
    expect(await next()).toMatchObject({ taskId: task.id, status: 'funded' });
    await transitionTask({ id: task.id, from: 'funded', to: 'processing', set: { mintsCompleted: 2 } });
    expect(await next()).toMatchObject({ status: 'processing', mintsCompleted: 2 });
    await transitionTask({ id: task.id, from: 'processing', to: 'completed', set: { mintsCompleted: 3 } });
    expect(await next()).toMatchObject({ status: 'completed', mintsCompleted: 3 });
    expect(await next()).toBe('closed');
    expect(countTaskEventSubscribers()).toBe(0);
  });

  it('does not mix up tasks: a stream only carries its own task', async () => {
    const mine = await newTask();
    const other = await newTask();
    const next = frames(await open(mine.id, cookieFor(alice)));
    expect((await next()).status).toBe('pending_payment');
    await transitionTask({ id: other.id, from: 'pending_payment', to: 'cancelled' });
    await transitionTask({ id: mine.id, from: 'pending_payment', to: 'cancelled' });
    expect(await next()).toMatchObject({ taskId: mine.id, status: 'cancelled' });
    expect(await next()).toBe('closed');
  });

  it('ends at once for a task already in a final status', async () => {
    const task = await newTask();
    await transitionTask({ id: task.id, from: 'pending_payment', to: 'cancelled' });
    const next = frames(await open(task.id, cookieFor(alice)));
    expect((await next()).status).toBe('cancelled');
    expect(await next()).toBe('closed');
  });

  it('shares one LISTEN connection among all streams and unsubscribes a client that leaves', async () => {
    const tasks = await Promise.all([newTask(), newTask(), newTask()]);
    const aborts = tasks.map(() => new AbortController());
    const streams = await Promise.all(tasks.map((t, i) => open(t.id, cookieFor(alice), aborts[i]!.signal)));
    for (const s of streams) expect((await frames(s)()).status).toBe('pending_payment');
    expect(countTaskEventSubscribers()).toBe(3);
    const rows = await getSql()`select count(*)::int as count from pg_stat_activity where query ilike 'listen%'`;
    expect(rows[0]!.count).toBe(1);
    for (const a of aborts) a.abort();
    expect(countTaskEventSubscribers()).toBe(0);
  });

  it(`caps each user at ${MAX_STREAMS_PER_USER} open streams (429 beyond), others unaffected, slots freed on close`, async () => {
    const task = await newTask();
    const cookie = await cookieFor(alice);
    const aborts = Array.from({ length: MAX_STREAMS_PER_USER }, () => new AbortController());
    const streams = await Promise.all(aborts.map((a) => open(task.id, cookie, a.signal)));
    expect(streams.map((s) => s.status)).toEqual(streams.map(() => 200));
    const over = await open(task.id, cookie);
    expect(over.status).toBe(429);
    expect((await over.json()).error.code).toBe('rate_limited:events');
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
    const bobsTask = await createPendingTask({
      userAddress: bob,
      token: stack.deployment.tokens[0]!.address,
      quantity: 1,
    });
    const bobs = new AbortController();
    expect((await open(bobsTask.id, cookieFor(bob), bobs.signal)).status).toBe(200);
    bobs.abort();
    aborts[0]!.abort();
    const again = new AbortController();
    expect((await open(task.id, cookie, again.signal)).status).toBe(200);
    again.abort();
    for (const a of aborts) a.abort();
    expect(openStreamCount(alice)).toBe(0);
    expect(openStreamCount(bob)).toBe(0);
  });

  it('answers 401 without a session, 404 to a stranger, 400 for a bad id', async () => {
    const task = await newTask();
    expect((await open(task.id)).status).toBe(401);
    const stranger = await open(task.id, cookieFor(bob));
    expect(stranger.status).toBe(404);
    expect((await stranger.json()).error.code).toBe('not_found:task');
    expect((await open('not-a-uuid', cookieFor(alice))).status).toBe(400);
  });
});
