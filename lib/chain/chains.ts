import { defineChain, type Chain } from 'viem';

// Browser-safe: the page gets its chain as plain data (BrowserChain) from the server, so the
// network table (lib/chain/networks.ts, which loads the x402 packages) stays on the server.

export const localChain = defineChain({
  id: 31337,
  name: 'AgentMint Local',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
  testnet: true,
});

export function chainWithRpc(chain: Chain, rpcUrl: string): Chain {
  return { ...chain, rpcUrls: { default: { http: [rpcUrl] } } };
}

/** What the page needs of the chain, serialisable from a server component (no formatters). */
export type BrowserChain = {
  id: number;
  name: string;
  nativeCurrency: Chain['nativeCurrency'];
  /** The RPC the browser's wallet client reads through: the local anvil, or the network's public one. */
  rpcUrl: string;
  explorerUrl: string | null;
  testnet: boolean;
};

export function toBrowserChain(chain: Chain, rpcUrl: string): BrowserChain {
  return {
    id: chain.id,
    name: chain.name,
    nativeCurrency: chain.nativeCurrency,
    rpcUrl,
    explorerUrl: chain.blockExplorers?.default.url ?? null,
    testnet: Boolean(chain.testnet),
  };
}

export function fromBrowserChain(b: BrowserChain): Chain {
  return defineChain({
    id: b.id,
    name: b.name,
    nativeCurrency: b.nativeCurrency,
    rpcUrls: { default: { http: [b.rpcUrl] } },
    ...(b.explorerUrl && { blockExplorers: { default: { name: 'Explorer', url: b.explorerUrl } } }),
    testnet: b.testnet,
  });
}

export function explorerTxUrl(chain: Chain, hash: string): string | undefined {
  const explorer = chain.blockExplorers?.default.url;
  return explorer ? `${explorer}/tx/${hash}` : undefined;
}
