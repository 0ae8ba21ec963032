'use client';

import { createContext, useContext, useMemo, type ReactNode } from 'react';
import type { Chain } from 'viem';
import { clientChain, type ClientChainConfig } from './wagmi';

type AppConfig = {
  chain: Chain;
  txUrl(hash: string): string | null;
  addressUrl(address: string): string | null;
  x402DemoUrl: string | null;
};

const AppConfigContext = createContext<AppConfig | null>(null);

export function AppConfigProvider({ chainConfig, children }: { chainConfig: ClientChainConfig; children: ReactNode }) {
  const value = useMemo<AppConfig>(() => {
    const chain = clientChain(chainConfig);
    const explorer = chain.blockExplorers?.default.url;
    return {
      chain,
      txUrl: (hash) => (explorer ? `${explorer}/tx/${hash}` : null),
      addressUrl: (address) => (explorer ? `${explorer}/address/${address}` : null),
      x402DemoUrl: chainConfig.x402DemoUrl ?? null,
    };
  }, [chainConfig]);
  return <AppConfigContext.Provider value={value}>{children}</AppConfigContext.Provider>;
}

export function useAppConfig(): AppConfig {
  const value = useContext(AppConfigContext);
  if (!value) throw new Error('useAppConfig outside AppConfigProvider');
  return value;
}
