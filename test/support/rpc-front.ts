import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RpcRequest = { id?: unknown; method?: string };
export type RpcResponse = { id?: unknown; result?: unknown };

/**
 * A JSON-RPC node in front of `upstream` (anvil): every call, single or batched, is passed
 * through, and `rewrite` may change each answer before it goes back. The tests' misbehaving
 * nodes are this with their own rewrite: one that loses some logs (test/audit/support.ts), one
 * whose logs and receipts lag a block (lagging-node.ts).
 */
export async function startRpcFront(
  upstream: string,
  rewrite: (request: RpcRequest, response: RpcResponse) => RpcResponse,
) {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = await fetch(upstream, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        }).then((r) => r.json());
        const request = JSON.parse(body);
        const out = Array.isArray(request)
          ? (answer as RpcResponse[]).map((a) => rewrite(request.find((r: RpcRequest) => r.id === a.id) ?? {}, a))
          : rewrite(request, answer as RpcResponse);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      } catch (error) {
        res.writeHead(502).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
