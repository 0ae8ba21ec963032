import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFor } from '../support/routes';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { stopChild } from '@/scripts/local/anvil';
import { buildIfStale, nextBin } from '@/scripts/local/next-build';
import { freePort, waitFor } from '@/scripts/local/ports';

// Two `next start` processes on one database, as behind a load balancer: a user's limit and
// the IP limit hold across both, a client cannot escape the IP limit by writing its own
// x-forwarded-for, and task events reach a stream on either instance (Postgres LISTEN/NOTIFY).

const root = path.resolve(import.meta.dirname, '../..');
const DIST = '.next-e2e'; // shared with the e2e suite, which then skips its build
const CHAT_LIMIT = 3;

let stack: TestStack;
const web: ChildProcess[] = [];
const urls: string[] = [];

async function startWeb(env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [nextBin(root), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: { ...env, NODE_ENV: 'production', NEXT_DIST_DIR: DIST, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  web.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, {
    timeoutMs: 60_000,
    what: 'next start',
  });
  return url;
}

beforeAll(async () => {
  await buildIfStale(root, { ...process.env, NEXT_DIST_DIR: DIST }, DIST);
  stack = await startTestStack({ env: { CHAT_RATE_LIMIT_PER_MINUTE: String(CHAT_LIMIT), LOG_LEVEL: 'error' } });
  const env = { ...process.env, ...stack.env };
  delete env.OPENAI_API_KEY;
  urls.push(...(await Promise.all([startWeb(env), startWeb(env)])));
}, 600_000);

afterAll(async () => {
  await Promise.all(web.map((c) => stopChild(c, 5000)));
  await stack?.stop();
});

const chat = (url: string, cookie: string) =>
  fetch(`${url}/api/ai-agent/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ message: 'hello' }),
  });

describe('several web instances on one database', () => {
  it("holds one user's chat limit across both instances", async () => {
    const cookie = await cookieFor(user(1).address);
    const statuses: number[] = [];
    for (let i = 0; i < CHAT_LIMIT + 2; i++) statuses.push((await chat(urls[i % 2]!, cookie)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Another user is not affected.
    expect((await chat(urls[1]!, await cookieFor(user(2).address))).status).toBe(200);
  });

  it('limits by the connecting address, whatever x-forwarded-for a client writes', async () => {
    const statuses: number[] = [];
    // AUTH_LIMIT is 30 a minute per IP; a spoofer sends a fresh x-forwarded-for each time.
    for (let i = 0; i < 32; i++) {
      const res = await fetch(`${urls[i % 2]}/api/auth/nonce`, {
        headers: { 'x-forwarded-for': `203.0.113.${i}, 198.51.100.${i}`, 'x-agentmint-forwarded-for': `192.0.2.${i}` },
      });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
  });

  it('delivers task events to a stream on either instance when the other one changes the task', async () => {
    const owner = user(3);
    const cookie = await cookieFor(owner.address);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 1,
    });
    const streams = urls.map((url) => readEvents(`${url}/api/ai-agent/task/${task.id}/events`, cookie));
    await Promise.all(streams.map((s) => s.first));
    const cancel = await fetch(`${urls[0]}/api/ai-agent/task/${task.id}/cancel`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(cancel.status).toBe(200);
    for (const s of streams) expect((await s.all).map((e) => e.status)).toEqual(['pending_payment', 'cancelled']);
  });
});

/** Reads an SSE stream until it ends; `first` resolves with the first event (the current state). */
function readEvents(url: string, cookie: string) {
  let gotFirst: () => void;
  const first = new Promise<void>((resolve) => (gotFirst = resolve));
  const all = (async () => {
    const res = await fetch(url, { headers: { cookie }, signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    const events: { status: string }[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .find((l) => l.startsWith('data: '));
        buffer = buffer.slice(end + 2);
        if (data) {
          events.push(JSON.parse(data.slice(6)) as { status: string });
          gotFirst!();
        }
      }
    }
    return events;
  })();
  return { first, all };
}
