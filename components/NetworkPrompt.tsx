'use client';

import { useSwitchChain } from 'wagmi';
import { useI18n } from '@/lib/i18n/context';
import { useAppConfig } from '@/lib/web/app-config';
import { shortErrorMessage } from '@/lib/web/wallet-errors';

export function NetworkPrompt() {
  const { t } = useI18n();
  const { chain } = useAppConfig();
  const { switchChain, isPending, error } = useSwitchChain();
  return (
    <section className="notice notice-warn" role="alert" data-testid="wrong-network">
      <p>{t('network.wrong', { chain: chain.name })}</p>
      <button
        type="button"
        className="btn btn-primary"
        data-testid="switch-network"
        disabled={isPending}
        onClick={() => switchChain({ chainId: chain.id })}
      >
        {isPending ? t('network.switching') : t('network.switch', { chain: chain.name })}
      </button>
      {error && <p className="error-text">{t('network.failed', { message: shortErrorMessage(error) })}</p>}
    </section>
  );
}
