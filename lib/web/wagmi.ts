import { connectorsForWallets } from '@rainbow-me/rainbowkit';
import { injectedWallet, walletConnectWallet } from '@rainbow-me/rainbowkit/wallets';
import { cookieStorage, createConfig, createStorage, http } from 'wagmi';
import { fromBrowserChain, type BrowserChain } from '@/lib/chain/chains';

/** What the browser is told of this install (app/layout.tsx): its chain, and the local demo x402 endpoint when `npm start` runs one. */
export type ClientChainConfig = { chain: BrowserChain; x402DemoUrl?: string | null };

export function clientChain({ chain }: ClientChainConfig) {
  return fromBrowserChain(chain);
}

/**
 * wagmi config for the one chain this install runs on. Built without getDefaultConfig, which
 * needs a WalletConnect project id and the network: the injected wallet (and any EIP-6963
 * wallet) works offline; WalletConnect appears only when a project id is configured.
 */
export function makeWagmiConfig(chainConfig: ClientChainConfig) {
  const chain = clientChain(chainConfig);
  const projectId = process.env.NEXT_PUBLIC_WALLETCONNECT_PROJECT_ID;
  const wallets = projectId ? [injectedWallet, walletConnectWallet] : [injectedWallet];
  const connectors = connectorsForWallets([{ groupName: 'Wallets', wallets }], {
    appName: 'AgentMint',
    projectId: projectId ?? 'agentmint-offline',
  });
  return createConfig({
    chains: [chain],
    connectors,
    ssr: true,
    storage: createStorage({ storage: cookieStorage }),
    transports: { [chain.id]: http(chainConfig.chain.rpcUrl) },
  });
}
