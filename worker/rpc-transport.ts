import http from 'node:http';
import https from 'node:https';
import { custom, HttpRequestError, RpcRequestError, TimeoutError } from 'viem';

// The worker's JSON-RPC transport: node:http with keep-alive sockets, every call made in the
// same turn of the event loop sent as one JSON-RPC batch (what viem's http transport does with
// `batch: { wait: 0 }`). viem's http transport goes through fetch, whose undici machinery and
// web streams cost about twice the CPU per request here (1.3 vs 0.65 ms for a small request on
// these machines); a worker sending and polling a batch of mints makes hundreds of them.
// Errors take the same shapes as viem's http transport (RpcRequestError, HttpRequestError,
// TimeoutError), so viem's error mapping and our classifier see no difference.

type Call = { id: number; method: string; params: unknown; resolve: (result: unknown) => void; reject: (error: unknown) => void };
type RpcResponse = { id: number; result?: unknown; error?: { code: number; message: string; data?: unknown } };

export function nodeHttpTransport(url: string, { timeoutMs, batchSize = 100 }: { timeoutMs: number; batchSize?: number }) {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  // noDelay: a request is small and the answer is awaited; Nagle's algorithm would hold it back
  // waiting for an ACK that the node delays (40 ms a round trip on Linux).
  const agent = new client.Agent({ keepAlive: true, maxSockets: 16, noDelay: true });
  let queue: Call[] = [];
  let nextId = 0;

  const post = (body: string) =>
    new Promise<unknown>((resolve, reject) => {
      const request = client.request(
        target,
        { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (cause) => reject(new HttpRequestError({ body: { body }, cause, details: cause.message, url })));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) return reject(new HttpRequestError({ body: { body }, details: text || response.statusMessage, status, url }));
            try {
              resolve(JSON.parse(text));
            } catch (cause) {
              reject(new HttpRequestError({ body: { body }, cause: cause as Error, details: `invalid JSON: ${text.slice(0, 200)}`, status, url }));
            }
          });
        },
      );
      request.on('timeout', () => request.destroy(new TimeoutError({ body: { body }, url })));
      request.on('error', (cause) => reject(cause instanceof TimeoutError ? cause : new HttpRequestError({ body: { body }, cause, details: cause.message, url })));
      request.end(body);
    });

  const send = async (calls: Call[]) => {
    const payload = calls.map(({ id, method, params }) => ({ jsonrpc: '2.0', id, method, params }));
    const body = JSON.stringify(payload.length === 1 ? payload[0] : payload);
    try {
      const reply = await post(body);
      const byId = new Map((Array.isArray(reply) ? reply : [reply]).map((r: RpcResponse) => [r.id, r]));
      for (const call of calls) {
        const response = byId.get(call.id);
        if (!response) call.reject(new HttpRequestError({ body: { body }, details: `no response for request ${call.id}`, url }));
        else if (response.error) call.reject(new RpcRequestError({ body: payload.find((p) => p.id === call.id)!, error: response.error, url }));
        else call.resolve(response.result);
      }
    } catch (error) {
      for (const call of calls) call.reject(error);
    }
  };

  const flush = () => {
    const calls = queue;
    queue = [];
    for (let i = 0; i < calls.length; i += batchSize) void send(calls.slice(i, i + batchSize));
  };

  return custom(
    {
      request: ({ method, params }) =>
        new Promise((resolve, reject) => {
          queue.push({ id: ++nextId, method, params, resolve, reject });
          // setImmediate, not a microtask: viem reaches `request` a few awaits deep, so calls
          // started together in one Promise.all arrive over several microtasks.
          if (queue.length === 1) setImmediate(flush);
        }),
    },
    { retryCount: 0 },
  );
}
