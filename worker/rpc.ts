import { createPublicClient, type Hex, type PublicClient } from 'viem';
import { getChain } from '@/lib/chain/clients';
import { getConfig } from '@/lib/config';
import { poolTransport } from '@/lib/chain/rpc-transport';
import { classifyChainError } from '@/lib/chain/revert-reasons';

let client: PublicClient | undefined;

/**
 * The worker's RPC client. JSON-RPC batching puts a batch's 10 sendRawTransaction calls (and
 * later its 10 receipt lookups) into one HTTP request: on anvil that cut a 10-mint batch's
 * send phase from ~10 round trips to 1. No transport retries: the executor classifies and
 * backs off itself, and a transport retry of a send would only hide a "maybe sent".
 * The transport is undici's pool rather than fetch (rpc-transport.ts).
 */
export function getWorkerClient(): PublicClient {
  const config = getConfig();
  client ??= createPublicClient({
    chain: getChain(),
    transport: poolTransport(config.rpcUrl, { timeoutMs: 10_000 }),
    pollingInterval: config.chain === 'local' ? 50 : 1000,
  }) as PublicClient;
  return client;
}

/**
 * One JSON-RPC call straight to the client's transport, skipping viem's request wrapper (its
 * retries, dedupe and error classes; ~0.2 ms a call here). For the worker's hot path only: a
 * mint's receipt polls, whose errors our classifier reads from the message.
 */
export function rawRequest<T>(client: PublicClient, method: string, params: unknown[]): Promise<T> {
  return client.transport.request({ method, params }) as Promise<T>;
}

/**
 * Sends signed transactions in one batched request (the transport batches calls made together);
 * "already known" and "nonce too low" mean maybe-sent. Straight to the transport, as the receipt
 * polls are: a batch's send is the other call every batch makes, and the classifier reads the
 * node's message either way.
 */
export async function broadcastRaw(client: PublicClient, raws: Hex[]) {
  const send = (raw: Hex) => rawRequest<Hex>(client, 'eth_sendRawTransaction', [raw]);
  const results = await Promise.allSettled(raws.map(send));
  for (const result of results) {
    if (result.status === 'fulfilled') continue;
    const kind = classifyChainError(result.reason);
    if (kind.kind === 'transient' && (kind.reason === 'already_known' || kind.reason === 'nonce')) continue;
    throw result.reason;
  }
}
