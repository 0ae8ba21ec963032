import { defineChain, type Chain } from 'viem';
import { base, baseSepolia } from 'viem/chains';

export const localChain = defineChain({
  id: 31337,
  name: 'AgentMint Local',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
  testnet: true,
});

export type ChainName = 'local' | 'base-sepolia' | 'base';

export const CHAINS: Record<ChainName, Chain> = { local: localChain, 'base-sepolia': baseSepolia, base };

/** Circle's USDC on Base networks; its EIP-712 domain is still read from the chain. */
export const KNOWN_USDC: Partial<Record<ChainName, `0x${string}`>> = {
  'base-sepolia': '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  base: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
};

export function chainWithRpc(name: ChainName, rpcUrl: string): Chain {
  const chain = CHAINS[name];
  return { ...chain, rpcUrls: { default: { http: [rpcUrl] } } };
}

export function explorerTxUrl(chain: Chain, hash: string): string | undefined {
  const explorer = chain.blockExplorers?.default.url;
  return explorer ? `${explorer}/tx/${hash}` : undefined;
}
