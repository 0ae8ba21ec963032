'use client';

import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { INTL_LOCALE, LOCALE_COOKIE, translator, type Locale, type Translate } from './locale';

type I18n = { locale: Locale; intlLocale: string; t: Translate; setLocale(locale: Locale): void };

const I18nContext = createContext<I18n | null>(null);

/** The initial locale comes from the server (cookie or Accept-Language) so the first paint matches. */
export function I18nProvider({ initialLocale, children }: { initialLocale: Locale; children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  const setLocale = useCallback((next: Locale) => {
    setLocaleState(next);
    document.cookie = `${LOCALE_COOKIE}=${next}; Path=/; Max-Age=31536000; SameSite=Lax`;
    document.documentElement.lang = INTL_LOCALE[next];
  }, []);
  const value = useMemo(
    () => ({ locale, intlLocale: INTL_LOCALE[locale], t: translator(locale), setLocale }),
    [locale, setLocale],
  );
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
