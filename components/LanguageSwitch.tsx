'use client';

import { useI18n } from '@/lib/i18n/context';
import { isLocale } from '@/lib/i18n/locale';

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <label className="lang-switch">
      <span className="sr-only">{t('nav.language')}</span>
      <select
        data-testid="language-switch"
        value={locale}
        aria-label={t('nav.language')}
        onChange={(e) => isLocale(e.target.value) && setLocale(e.target.value)}
      >
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
    </label>
  );
}
