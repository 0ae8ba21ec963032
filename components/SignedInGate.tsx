'use client';

import type { ReactNode } from 'react';
import { useAccount } from 'wagmi';
import { useI18n } from '@/lib/i18n/context';
import { useAppConfig } from '@/lib/web/app-config';
import { useSession } from '@/lib/web/session';
import { Landing } from './Landing';
import { NetworkPrompt } from './NetworkPrompt';

/** Renders its children only for a signed-in user on the right chain. */
export function SignedInGate({ children }: { children: (address: `0x${string}`) => ReactNode }) {
  const { t } = useI18n();
  const { chain } = useAppConfig();
  const { isConnected, chainId } = useAccount();
  const { status, address } = useSession();
  if (status === 'loading')
    return (
      <p className="muted" aria-busy="true">
        {t('common.loading')}
      </p>
    );
  if (isConnected && chainId !== chain.id) return <NetworkPrompt />;
  if (status !== 'authenticated' || !address) return <Landing />;
  return <>{children(address)}</>;
}
