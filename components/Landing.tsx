'use client';

import { useConnectModal } from '@rainbow-me/rainbowkit';
import { useAccount } from 'wagmi';
import { useI18n } from '@/lib/i18n/context';

/** What a signed-out visitor sees: what AgentMint does, and one button to start. */
export function Landing() {
  const { t } = useI18n();
  const { isConnected } = useAccount();
  const { openConnectModal } = useConnectModal();
  return (
    <section className="landing" data-testid="landing">
      <h1>{t('landing.title')}</h1>
      <p className="lead">{t('landing.lead')}</p>
      <ol className="steps">
        <li>{t('landing.step1')}</li>
        <li>{t('landing.step2')}</li>
        <li>{t('landing.step3')}</li>
      </ol>
      <div>
        <button
          type="button"
          className="btn btn-primary btn-large"
          data-testid="landing-connect"
          onClick={() => openConnectModal?.()}
        >
          {isConnected ? t('landing.signIn') : t('landing.connect')}
        </button>
      </div>
      {isConnected && <p className="hint">{t('landing.signInHint')}</p>}
    </section>
  );
}
