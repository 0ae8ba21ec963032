'use client';

import { useI18n } from '@/lib/i18n/context';

export function Suggestions({ onPick }: { onPick(text: string): void }) {
  const { t, locale } = useI18n();
  const items = locale === 'zh' ? [t('suggest.mintZh'), t('suggest.mint'), t('suggest.wallet')] : [t('suggest.mint'), t('suggest.mintZh'), t('suggest.tasks')];
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
