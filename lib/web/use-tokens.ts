'use client';

import { useQuery } from '@tanstack/react-query';
import { apiFetch } from './api';

export type TokenInfo = {
  address: string;
  name: string;
  symbol: string;
  pricePerMint: string;
  mintAmount: string;
  remaining: string;
};
type PublicConfig = { chainId: number; chainName: string; blockExplorer: string | null; tokens: TokenInfo[] };

/** The install's public config (/api/config), cached for the tab: token names for task cards. */
export function usePublicConfig() {
  return useQuery({
    queryKey: ['config'],
    queryFn: () => apiFetch<PublicConfig>('/api/config'),
    staleTime: 5 * 60_000,
  });
}

export function useTokenInfo(address: string | undefined): TokenInfo | undefined {
  const { data } = usePublicConfig();
  if (!address) return undefined;
  return data?.tokens.find((t) => t.address.toLowerCase() === address.toLowerCase());
}
