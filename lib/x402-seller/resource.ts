import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import { getChain } from '../chain/clients';
import { getConfig } from '../config';

// Where AgentMint sells mint tasks over x402, and on which chain, as the protocol names them.

export const MINT_PATH = '/api/x402/mint';

/**
 * How long a buyer's authorization stays valid (the client signs validBefore = now + this). The
 * fund checks want at least 30 s left when the transfer is sent, and at most 7 days.
 */
export const MAX_TIMEOUT_SECONDS = 300;

/** The chain as x402 v2 names it (CAIP-2). */
export const saleNetwork = (): `${string}:${string}` => `eip155:${getChain().id}`;

/**
 * The chain as x402 v1 names it: v1 knows only a fixed table of names (`base-sepolia`), so a
 * chain without one (anvil's 31337) keeps its CAIP-2 id, which v1 clients cannot pay on.
 */
export function saleNetworkV1(): string {
  const name = Object.entries(EVM_NETWORK_CHAIN_ID_MAP).find(([, id]) => id === getChain().id)?.[0];
  return name ?? saleNetwork();
}

export const mintResourceUrl = () => `${getConfig().publicUrl}${MINT_PATH}`;

/** A sold task's status URL (GET, task token as bearer); cancel is `<status URL>/cancel` (POST). */
export const soldTaskUrl = (taskId: string) => `${getConfig().publicUrl}/api/x402/tasks/${taskId}`;
