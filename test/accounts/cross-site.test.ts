import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { POST as cancelPOST } from '@/app/api/ai-agent/task/[taskId]/cancel/route';
import { POST as fundPOST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { POST as retryPOST } from '@/app/api/ai-agent/task/[taskId]/retry/route';
import { POST as withdrawPOST } from '@/app/api/ai-agent/wallet/[userAddress]/withdraw/route';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { POST as logoutPOST } from '@/app/api/auth/logout/route';
import { POST as logoutAllPOST } from '@/app/api/auth/logout-all/route';
import { GET as sessionGET } from '@/app/api/auth/session/route';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { BASE, call, cookieFor, type Cookie } from '../support/routes';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack(); // PUBLIC_URL http://localhost:3000 = BASE
});
afterAll(async () => stack?.stop());

const alice = user(1).address;
const EVIL = 'https://evil.example';
const newTask = () =>
  createPendingTask({ userAddress: alice, token: stack.deployment.tokens[0]!.address, quantity: 2 });

const cancel = async (taskId: string, headers: Record<string, string>, body?: string) =>
  call(
    cancelPOST as never,
    `/api/ai-agent/task/${taskId}/cancel`,
    { taskId },
    { method: 'POST', cookie: cookieFor(alice), headers, body },
  );

type Handler = (req: Request, ctx: { params: Promise<unknown> }) => Promise<Response>;

/** Every state-changing handler under app/api, found on disk so a new route cannot be missed. */
async function stateChangingHandlers() {
  const root = path.resolve('app/api');
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('route.ts'));
  const found: Array<{ name: string; handler: Handler }> = [];
  for (const file of files) {
    const mod = (await import(path.join(root, file))) as Record<string, unknown>;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      if (typeof mod[method] === 'function')
        found.push({ name: `${method} ${path.dirname(file)}`, handler: mod[method] as Handler });
    }
  }
  return found;
}

describe('cross-site requests', () => {
  it('the probe: a text/plain cancel from another site is refused and the task is untouched', async () => {
    const task = await newTask();
    const probe = await cancel(task.id, { origin: EVIL, 'content-type': 'text/plain' }, '');
    expect(probe.status).toBe(403);
    expect(probe.body.error.code).toBe('forbidden:origin');
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });

  it.each([
    ['another site', { origin: EVIL }],
    ['the same host on another port (same site, not same origin)', { origin: 'http://localhost:3001' }],
    ['an opaque origin (sandboxed frame)', { origin: 'null' }],
    ['https instead of the configured http', { origin: 'https://localhost:3000' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site without Origin', { 'sec-fetch-site': 'same-site' }],
  ])('refuses a JSON cancel from %s with 403 and no change', async (_name, headers) => {
    const task = await newTask();
    const response = await cancel(task.id, headers, '{}');
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden:origin');
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a form post', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }],
    ['an empty form post', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' }],
    ['a JSON look-alike type', { 'content-type': 'application/jsonp' }],
  ])('refuses %s from our own origin with 415 and no change', async (_name, headers) => {
    const task = await newTask();
    const response = await cancel(task.id, { origin: BASE, ...headers });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('unsupported_media_type:request');
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });

  it('accepts JSON from our own pages (Origin or Sec-Fetch-Site) and from scripts that send neither', async () => {
    const senders: Record<string, string>[] = [{ origin: BASE }, { 'sec-fetch-site': 'same-origin' }, {}];
    for (const headers of senders) {
      const task = await newTask();
      const response = await cancel(task.id, headers, '{}');
      expect(response.status, JSON.stringify(headers)).toBe(200);
      expect(response.body.task.status).toBe('cancelled');
    }
    // Reads are not state changes: a GET from anywhere is answered as before.
    expect(
      (
        await call(
          sessionGET as never,
          '/api/auth/session',
          {},
          { cookie: cookieFor(alice), headers: { origin: EVIL } },
        )
      ).status,
    ).toBe(200);
  });

  it('every state-changing route refuses another site and a non-JSON body, before doing anything', async () => {
    const handlers = await stateChangingHandlers();
    const names = handlers.map((h) => h.name);
    for (const expected of [
      'auth/verify',
      'auth/logout',
      'auth/logout-all',
      'ai-agent/chat',
      'ai-agent/task/[taskId]/fund',
      'ai-agent/task/[taskId]/cancel',
      'ai-agent/task/[taskId]/retry',
      'ai-agent/wallet/[userAddress]/withdraw',
    ]) {
      expect(names).toContain(`POST ${expected}`);
    }
    const task = await newTask();
    const params = { taskId: task.id, userAddress: alice };
    for (const { name, handler } of handlers) {
      const method = name.split(' ')[0]!;
      const cookie = await cookieFor(alice);
      const crossSite = await handler(
        new Request(`${BASE}/api/x`, {
          method,
          headers: { cookie, origin: EVIL, 'content-type': 'application/json' },
          body: '{}',
        }),
        { params: Promise.resolve(params) },
      );
      expect(crossSite.status, name).toBe(403);
      const plain = await handler(
        new Request(`${BASE}/api/x`, {
          method,
          headers: { cookie, origin: BASE, 'content-type': 'text/plain' },
          body: '{}',
        }),
        { params: Promise.resolve(params) },
      );
      expect(plain.status, name).toBe(415);
      const bodiless = await handler(new Request(`${BASE}/api/x`, { method, headers: { cookie, origin: EVIL } }), {
        params: Promise.resolve(params),
      });
      expect(bodiless.status, name).toBe(403);
    }
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });
});

describe('a POST with no body, as curl -X POST sends it', () => {
  const post = (handler: unknown, path: string, params: object, cookie: Cookie, headers: Record<string, string> = {}) =>
    call(handler as never, path, params, { method: 'POST', bodiless: true, cookie, headers });

  it('cancels and retries', async () => {
    const task = await newTask();
    const cancelled = await post(
      cancelPOST,
      `/api/ai-agent/task/${task.id}/cancel`,
      { taskId: task.id },
      cookieFor(alice),
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.task.status).toBe('cancelled');

    // A retry reaches the task: this one is cancelled, so the answer is the action's own 409.
    const retried = await post(retryPOST, `/api/ai-agent/task/${task.id}/retry`, { taskId: task.id }, cookieFor(alice));
    expect(retried.status).toBe(409);
    expect(retried.body.error.message).toContain('cancelled');
  });

  it('logs out, and logs out everywhere', async () => {
    const laptop = await cookieFor(alice);
    const phone = await cookieFor(alice);
    expect((await post(logoutPOST, '/api/auth/logout', {}, laptop)).status).toBe(200);
    expect((await call(sessionGET as never, '/api/auth/session', {}, { cookie: laptop })).status).toBe(401);
    expect((await call(sessionGET as never, '/api/auth/session', {}, { cookie: phone })).status).toBe(200);

    const everywhere = await post(logoutAllPOST, '/api/auth/logout-all', {}, phone);
    expect(everywhere.status).toBe(200);
    expect(everywhere.body.revoked).toBeGreaterThanOrEqual(1);
    expect((await call(sessionGET as never, '/api/auth/session', {}, { cookie: phone })).status).toBe(401);
  });

  it('withdraws everything (an optional body may be left out); a required body is still asked for as JSON', async () => {
    const carol = user(3).address;
    // Nothing refundable: the withdrawal itself answers, not the body check.
    const withdrawn = await post(
      withdrawPOST,
      `/api/ai-agent/wallet/${carol}/withdraw`,
      { userAddress: carol },
      cookieFor(carol),
    );
    expect(withdrawn.status).toBe(409);
    expect(withdrawn.body.error.code).not.toMatch(/^unsupported_media_type/);

    const task = await newTask();
    const fund = await post(fundPOST, `/api/ai-agent/task/${task.id}/fund`, { taskId: task.id }, cookieFor(alice));
    expect(fund.status).toBe(415);
    expect(fund.body.error.code).toBe('unsupported_media_type:fund');
  });

  it('still refuses another site (403) and a body without a JSON type (415), changing nothing', async () => {
    const task = await newTask();
    const path = `/api/ai-agent/task/${task.id}/cancel`;
    const crossSite = await post(cancelPOST, path, { taskId: task.id }, cookieFor(alice), { origin: EVIL });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('forbidden:origin');

    const cookie = await cookieFor(alice);
    for (const body of [new TextEncoder().encode('{"x":1}'), new Blob(['cancel=1'])]) {
      // A body without a content type, as fetch sends bytes or an untyped Blob.
      const untyped = await cancelPOST(new Request(`${BASE}${path}`, { method: 'POST', headers: { cookie }, body }), {
        params: Promise.resolve({ taskId: task.id }),
      });
      expect(untyped.status).toBe(415);
      expect((await untyped.json()).error.code).toBe('unsupported_media_type:request');
    }
    const declared = await post(cancelPOST, path, { taskId: task.id }, cookie, { 'content-length': '7' });
    expect(declared.status).toBe(415);
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });
});

describe('chat body', () => {
  it('checks the session before reading the body: a stranger’s endless upload is answered 401 at once', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode(' '.repeat(64 * 1024)));
      },
    });
    const req = new Request(`${BASE}/api/ai-agent/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    const res = await chatPOST(req as never, { params: Promise.resolve({}) } as never);
    expect(res.status).toBe(401);
    expect(pulled).toBeLessThanOrEqual(1); // at most the stream's own first pull, never read by the route
  });

  it('caps a signed-in body at what one message needs (413 beyond 32 KB)', async () => {
    const response = await call(
      chatPOST as never,
      '/api/ai-agent/chat',
      {},
      { cookie: cookieFor(alice), body: { message: 'hi', padding: 'x'.repeat(40 * 1024) } },
    );
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('payload_too_large:chat');
    // The largest message allowed (4000 characters, each escaped to 6 bytes) still fits.
    const big = await call(
      chatPOST as never,
      '/api/ai-agent/chat',
      {},
      { cookie: cookieFor(alice), body: { message: '\u0001'.repeat(4000) } },
    );
    expect(big.status).not.toBe(413);
  });
});
