import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type RpcRequest = { id?: unknown; method?: string };
type RpcResponse = { id?: unknown; result?: unknown };

/**
 * A JSON-RPC node in front of anvil whose log index and receipts can be held at a block: what a
 * load-balanced RPC gives when one request reaches the node that has block B and the next a node
 * at B-1, or one that has not indexed B's logs yet. While held at H, eth_getLogs leaves out every
 * log after H and eth_getTransactionReceipt answers null for a transaction mined after H; state
 * reads (eth_call, eth_getBlockByNumber, …) answer from the chain as it is.
 */
export async function startLaggingNode(upstream: string) {
  let heldAt: bigint | undefined;
  let heldAnswers = 0;
  const after = (blockNumber: unknown) => heldAt !== undefined && BigInt(String(blockNumber)) > heldAt;
  const lag = (request: RpcRequest, response: RpcResponse) => {
    if (heldAt === undefined) return response;
    if (request.method === 'eth_getLogs' && Array.isArray(response.result)) {
      const logs = response.result as { blockNumber?: string }[];
      const kept = logs.filter((l) => !after(l.blockNumber));
      if (kept.length < logs.length) heldAnswers++;
      response.result = kept;
    }
    const receipt = response.result as { blockNumber?: string } | null;
    if (request.method === 'eth_getTransactionReceipt' && receipt?.blockNumber && after(receipt.blockNumber)) {
      response.result = null;
      heldAnswers++;
    }
    return response;
  };
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
          ? (answer as RpcResponse[]).map((a) => lag(request.find((r: RpcRequest) => r.id === a.id) ?? {}, a))
          : lag(request, answer as RpcResponse);
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
    /** Logs and receipts as of block `block` from now on. */
    hold(block: bigint) {
      heldAt = block;
      heldAnswers = 0;
    },
    release() {
      heldAt = undefined;
    },
    /** Answers the hold changed since it began (a log left out, a receipt withheld). */
    get heldAnswers() {
      return heldAnswers;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type LaggingNode = Awaited<ReturnType<typeof startLaggingNode>>;
