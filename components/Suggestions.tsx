'use client';

import { useI18n } from '@/lib/i18n/context';
import { useAppConfig } from '@/lib/web/app-config';

export function Suggestions({ onPick }: { onPick(text: string): void }) {
  const { t, locale } = useI18n();
  const { x402DemoUrl } = useAppConfig();
  const base =
    locale === 'zh'
      ? [t('suggest.mintZh'), t('suggest.mint'), t('suggest.wallet')]
      : [t('suggest.mint'), t('suggest.mintZh'), t('suggest.tasks')];
  // With the local x402 demo endpoint running (npm start), one suggestion buys from it.
  const items = x402DemoUrl ? [base[0]!, t('suggest.mintX402', { url: x402DemoUrl }), base[2]!] : base;
  return (
    <div className="suggestions" data-testid="suggestions">
      <p className="muted">{t('chat.empty')}</p>
      <ul>
        {items.map((text) => (
          <li key={text}>
            <button type="button" className="chip" onClick={() => onPick(text)} data-testid="suggestion">
              {text}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
