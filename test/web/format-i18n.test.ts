import { describe, expect, it } from 'vitest';
import { en } from '@/lib/i18n/en';
import { pickLocale, translator } from '@/lib/i18n/locale';
import { zh } from '@/lib/i18n/zh';
import { formatAmount, formatUsdc } from '@/lib/web/format';

describe('amounts for the locale', () => {
  it('formats USDC base units exactly, beyond what a JS number holds', () => {
    expect(formatUsdc('300000', 'en-US')).toBe('0.3 USDC');
    expect(formatUsdc('123456789012345678901', 'en-US')).toBe('123,456,789,012,345.678901 USDC');
    expect(formatAmount('1000000000000000000000', 18, 'zh-CN')).toBe('1,000');
    expect(formatAmount('1000000000000000000000', 18, 'de-DE')).toBe('1.000');
  });

  it('shows a dash for a missing amount and the raw text for a non-number', () => {
    expect(formatAmount(null, 6, 'en-US')).toBe('—');
    expect(formatAmount('abc', 6, 'en-US')).toBe('abc');
  });
});

describe('language', () => {
  it('prefers a stored choice, then the first supported browser language', () => {
    expect(pickLocale('zh', 'en-US,en;q=0.9')).toBe('zh');
    expect(pickLocale(undefined, 'zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh');
    expect(pickLocale(undefined, 'fr-FR,en;q=0.5')).toBe('en');
    expect(pickLocale('xx', null)).toBe('en');
  });

  it('has a Chinese text for every English key and fills placeholders', () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    expect(translator('zh')('task.progress', { done: 3, total: 10 })).toBe('已 mint 3 / 10');
    expect(translator('en')('network.switch', { chain: 'Base' })).toBe('Switch to Base');
  });
});
