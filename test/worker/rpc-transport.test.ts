import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, HttpRequestError, RpcRequestError, TimeoutError } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyChainError } from '@/lib/chain/revert-reasons';
import { freePort } from '@/scripts/local/ports';
import { poolTransport } from '@/lib/chain/rpc-transport';
import { rawRequest } from '@/worker/rpc';

// The worker's JSON-RPC transport against a small scripted node: same-tick calls share one
// HTTP request, each call gets its own answer, and every failure has the shape (and the
// transient classification) viem's own http transport would give it.

type Rpc = { id: number; method: string; params: unknown[] };
const posts: { path: string; authorization?: string; body: Rpc | Rpc[] }[] = [];
let server: http.Server;
let base: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      const body = JSON.parse(text) as Rpc | Rpc[];
      posts.push({ path: req.url!, authorization: req.headers.authorization, body });
      if (req.url === '/busy') return res.writeHead(503).end('overloaded');
      if (req.url === '/silent') return; // never answers
      const answer = (call: Rpc) =>
        call.method === 'eth_sendRawTransaction'
          ? { jsonrpc: '2.0', id: call.id, error: { code: -32000, message: 'already known' } }
          : { jsonrpc: '2.0', id: call.id, result: call.params[0] ?? null };
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(Array.isArray(body) ? body.map(answer) : answer(body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

const clientFor = (url: string, timeoutMs = 5_000) =>
  createPublicClient({ chain: foundry, transport: poolTransport(url, { timeoutMs }) });

describe('worker JSON-RPC transport', () => {
  it('sends the calls of one tick as one batch; each call gets its own result or error', async () => {
    const client = clientFor(`${base}/rpc?key=1`);
    posts.length = 0;
    const results = await Promise.allSettled([
      rawRequest(client, 'eth_getTransactionReceipt', ['0xaa']),
      rawRequest(client, 'eth_sendRawTransaction', ['0x02']),
      client.request({ method: 'eth_getTransactionByHash', params: ['0xbb'] }),
    ]);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe('/rpc?key=1');
    expect((posts[0]!.body as Rpc[]).map((c) => c.method)).toEqual([
      'eth_getTransactionReceipt',
      'eth_sendRawTransaction',
      'eth_getTransactionByHash',
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: '0xaa' });
    expect(results[2]).toEqual({ status: 'fulfilled', value: '0xbb' });
    const refused = (results[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(RpcRequestError);
    expect(classifyChainError(refused)).toMatchObject({ kind: 'transient', reason: 'already_known' });

    // A lone call goes out as a plain (unbatched) request.
    expect(await rawRequest(client, 'eth_chainId', ['0x7a69'])).toBe('0x7a69');
    expect(Array.isArray(posts[1]!.body)).toBe(false);
  });

  it('sends URL credentials as a Basic authorization header', async () => {
    posts.length = 0;
    await rawRequest(clientFor(base.replace('http://', 'http://user:s%40cret@')), 'eth_chainId', ['0x1']);
    expect(posts[0]!.authorization).toBe(`Basic ${Buffer.from('user:s@cret').toString('base64')}`);
  });

  it('an HTTP error status, a refused connection and a silent node are transient, in viem error types', async () => {
    const busy = await rawRequest(clientFor(`${base}/busy`), 'eth_blockNumber', []).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(HttpRequestError);
    expect((busy as HttpRequestError).status).toBe(503);
    expect(classifyChainError(busy)).toMatchObject({ kind: 'transient', reason: 'connection' });

    const closed = await rawRequest(clientFor(`http://127.0.0.1:${await freePort()}`), 'eth_blockNumber', []).catch(
      (e: unknown) => e,
    );
    expect(closed).toBeInstanceOf(HttpRequestError);
    expect(classifyChainError(closed)).toMatchObject({ kind: 'transient', reason: 'connection' });

    const silent = await rawRequest(clientFor(`${base}/silent`, 300), 'eth_blockNumber', []).catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(TimeoutError);
    expect(classifyChainError(silent)).toMatchObject({ kind: 'transient', reason: 'timeout' });
  });
});
