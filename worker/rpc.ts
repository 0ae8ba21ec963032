import { createPublicClient, type PublicClient } from 'viem';
import { getChain } from '@/lib/chain/clients';
import { getConfig } from '@/lib/config';
import { nodeHttpTransport } from './rpc-transport';

let client: PublicClient | undefined;

/**
 * The worker's RPC client. JSON-RPC batching puts a batch's 10 sendRawTransaction calls (and
 * later its 10 receipt lookups) into one HTTP request: on anvil that cut a 10-mint batch's
 * send phase from ~10 round trips to 1. No transport retries: the executor classifies and
 * backs off itself, and a transport retry of a send would only hide a "maybe sent".
 * The transport is node:http rather than fetch (rpc-transport.ts).
 */
export function getWorkerClient(): PublicClient {
  const config = getConfig();
  client ??= createPublicClient({
    chain: getChain(),
    transport: nodeHttpTransport(config.rpcUrl, { timeoutMs: 10_000 }),
    pollingInterval: config.chain === 'local' ? 50 : 1000,
  }) as PublicClient;
  return client;
}
