import { startRpcFront, type RpcRequest, type RpcResponse } from './rpc-front';

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
  const calls = new Map<string, number>();
  const after = (blockNumber: unknown) => heldAt !== undefined && BigInt(String(blockNumber)) > heldAt;
  const lag = (request: RpcRequest, response: RpcResponse) => {
    if (request.method) calls.set(request.method, (calls.get(request.method) ?? 0) + 1);
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
  const front = await startRpcFront(upstream, lag);
  return {
    url: front.url,
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
    /** How many calls of `method` were answered so far (a turn's RPC cost: read it before and after). */
    callsOf(method: string) {
      return calls.get(method) ?? 0;
    },
    stop: front.stop,
  };
}

export type LaggingNode = Awaited<ReturnType<typeof startLaggingNode>>;
