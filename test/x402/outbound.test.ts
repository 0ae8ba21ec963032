import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetch, idleSocketCount, OutboundError, safeFetch } from '@/lib/x402/outbound';

// Read by lib/config on first use: idle keep-alive sockets close after 400 ms here.
process.env.X402_IDLE_SOCKET_MS = '400';

// Only a loopback server: refusals of other ranges are proven by the pure address check.
let server: http.Server;
let port: number;
let connections = 0;
let closed = 0;
const seen: Array<{ method?: string; url?: string; body: string; header?: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, header: req.headers['x-test'] as string | undefined });
      if (req.url === '/redirect')
        return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
      if (req.url === '/big') return res.writeHead(200).end('x'.repeat(5000));
      if (req.url === '/big-chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
        return res.end();
      }
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 2000);
      res
        .writeHead(402, { 'payment-required': 'abc', 'content-type': 'application/json' })
        .end(JSON.stringify({ ok: true, body }));
    });
  });
  server.on('connection', (socket) => {
    connections++;
    socket.on('close', () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
};

describe('safeFetch', () => {
  it('refuses a loopback IP literal before connecting, whether http or https', async () => {
    const before = connections;
    expect((await refusal(safeFetch(`http://127.0.0.1:${port}/`, { allowedHosts: [] }))).reason).toBe('not_https');
    const failure = await refusal(safeFetch(`https://127.0.0.1:${port}/`, { allowedHosts: [] }));
    expect([failure.reason, failure.details.range, failure.requestSent]).toEqual([
      'blocked_address',
      'loopback',
      false,
    ]);
    expect((await refusal(safeFetch(`https://[::ffff:127.0.0.1]:${port}/`, { allowedHosts: [] }))).details.range).toBe(
      'loopback',
    );
    expect(connections).toBe(before);
  });

  it('refuses a name that resolves to loopback at connect time (the lookup, not the name, is judged)', async () => {
    const before = connections;
    const failure = await refusal(safeFetch(`https://localhost:${port}/`, { allowedHosts: [] }));
    expect([failure.reason, failure.details.range, failure.requestSent]).toEqual([
      'blocked_address',
      'loopback',
      false,
    ]);
    expect(connections).toBe(before);
  });

  it('refuses non-http schemes and credentials in the URL', async () => {
    expect((await refusal(safeFetch('file:///etc/passwd'))).reason).toBe('bad_url');
    expect((await refusal(safeFetch('https://user:pw@example.com/'))).reason).toBe('bad_url');
    expect((await refusal(safeFetch('not a url'))).reason).toBe('bad_url');
  });

  it('fetches an allowed host over http and returns a standard Response', async () => {
    const response = await safeFetch(`http://127.0.0.1:${port}/api/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test': 'yes' },
      body: JSON.stringify({ quantity: 1 }),
      allowedHosts: [`127.0.0.1:${port}`],
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(402);
    expect(response.headers.get('payment-required')).toBe('abc');
    expect(await response.json()).toEqual({ ok: true, body: '{"quantity":1}' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/api/mint', header: 'yes' });
  });

  it('an allowed name without a port allows every port; another port is not allowed', async () => {
    expect((await safeFetch(`http://127.0.0.1:${port}/`, { allowedHosts: ['127.0.0.1'] })).status).toBe(402);
    expect(
      (await refusal(safeFetch(`http://127.0.0.1:${port}/`, { allowedHosts: [`127.0.0.1:${port + 1}`] }))).reason,
    ).toBe('not_https');
  });

  it('does not follow redirects', async () => {
    const count = seen.length;
    const failure = await refusal(safeFetch(`http://127.0.0.1:${port}/redirect`, { allowedHosts: ['127.0.0.1'] }));
    expect([failure.reason, failure.details.status, failure.details.location, failure.requestSent]).toEqual([
      'redirect',
      302,
      'http://169.254.169.254/latest/meta-data',
      true,
    ]);
    expect(seen.length).toBe(count + 1);
  });

  it('caps the response size, declared or streamed', async () => {
    const opts = { allowedHosts: ['127.0.0.1'], maxBytes: 4096 };
    expect((await refusal(safeFetch(`http://127.0.0.1:${port}/big`, opts))).reason).toBe('too_large');
    expect((await refusal(safeFetch(`http://127.0.0.1:${port}/big-chunked`, opts))).reason).toBe('too_large');
    expect((await safeFetch(`http://127.0.0.1:${port}/big`, { ...opts, maxBytes: 5000 })).status).toBe(200);
  });

  it('times out, reporting that the request was sent', async () => {
    const started = Date.now();
    const failure = await refusal(
      safeFetch(`http://127.0.0.1:${port}/slow`, { allowedHosts: ['127.0.0.1'], timeoutMs: 300 }),
    );
    expect([failure.reason, failure.requestSent]).toEqual(['timeout', true]);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('keeps the connection to a host alive across requests; a timeout on a reused one still counts as sent', async () => {
    const opts = { allowedHosts: ['127.0.0.1'] };
    await (await safeFetch(`http://127.0.0.1:${port}/warm`, opts)).text();
    const before = connections;
    for (let i = 0; i < 5; i++) expect((await safeFetch(`http://127.0.0.1:${port}/again`, opts)).status).toBe(402);
    expect(connections).toBe(before);
    const failure = await refusal(safeFetch(`http://127.0.0.1:${port}/slow`, { ...opts, timeoutMs: 300 }));
    expect([failure.reason, failure.requestSent, connections]).toEqual(['timeout', true, before]);
  });

  it('closes a keep-alive connection once it has been idle for X402_IDLE_SOCKET_MS', async () => {
    const opts = { allowedHosts: ['127.0.0.1'] };
    await new Promise((r) => setTimeout(r, 600)); // sockets of earlier tests go idle and close
    const [openedBefore, closedBefore] = [connections, closed];
    expect((await safeFetch(`http://127.0.0.1:${port}/idle`, opts)).status).toBe(402);
    expect(connections).toBe(openedBefore + 1);
    expect(idleSocketCount()).toBe(1);
    // Reused while fresh…
    expect((await safeFetch(`http://127.0.0.1:${port}/idle`, opts)).status).toBe(402);
    expect(connections).toBe(openedBefore + 1);
    // …closed by the client once idle (the server keeps connections open for 5 s).
    await new Promise((r) => setTimeout(r, 700));
    expect(idleSocketCount()).toBe(0);
    expect(closed).toBe(closedBefore + 1);
  });

  it('reports a refused connection as not sent', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const failure = await refusal(safeFetch(`http://127.0.0.1:${freePort}/`, { allowedHosts: ['127.0.0.1'] }));
    expect([failure.reason, failure.requestSent]).toEqual(['network', false]);
  });
});

describe('createSafeFetch', () => {
  it('takes a Request (as @x402/fetch passes one) with its method, headers and body', async () => {
    const fetchSafely = createSafeFetch({ allowedHosts: ['127.0.0.1'] });
    const response = await fetchSafely(
      new Request(`http://127.0.0.1:${port}/r`, { method: 'POST', headers: { 'x-test': 'req' }, body: 'hello' }),
    );
    expect(response.status).toBe(402);
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/r', body: 'hello', header: 'req' });
    expect((await refusal(createSafeFetch({ allowedHosts: [] })(`https://localhost:${port}/`))).reason).toBe(
      'blocked_address',
    );
  });
});
