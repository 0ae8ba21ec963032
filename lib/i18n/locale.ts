import { en, type MessageKey } from './en';
import { zh } from './zh';

export const LOCALES = ['en', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];
export const LOCALE_COOKIE = 'agentmint_locale';

const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, zh };

/** BCP 47 tags for Intl and RainbowKit. */
export const INTL_LOCALE: Record<Locale, string> = { en: 'en-US', zh: 'zh-CN' };

export const isLocale = (v: unknown): v is Locale => v === 'en' || v === 'zh';

/** A stored choice wins; otherwise the first supported language the browser lists. */
export function pickLocale(stored: string | undefined | null, acceptLanguage: string | null | undefined): Locale {
  if (isLocale(stored)) return stored;
  const tags = (acceptLanguage ?? '')
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .filter(Boolean);
  for (const tag of tags) {
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'en';
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(locale: Locale): Translate {
  const dict = dictionaries[locale];
  return (key, vars) => {
    const text = dict[key] ?? en[key] ?? key;
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
  };
}

export type { MessageKey };
