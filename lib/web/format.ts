import { formatUnits } from 'viem';

export const USDC_DECIMALS = 6;

/**
 * A base-unit amount (decimal string or bigint) for display in the locale. The value goes to
 * Intl as a decimal string, so it is never rounded through a JS number.
 */
export function formatAmount(
  value: string | bigint | null | undefined,
  decimals: number,
  locale: string,
  maxFraction = decimals,
): string {
  if (value === null || value === undefined || value === '') return '—';
  let units: bigint;
  try {
    units = typeof value === 'bigint' ? value : BigInt(value);
  } catch {
    return String(value);
  }
  const decimal = formatUnits(units, decimals) as `${number}`;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: maxFraction, minimumFractionDigits: 0 }).format(
    decimal,
  );
}

export const formatUsdc = (value: string | bigint | null | undefined, locale: string) =>
  `${formatAmount(value, USDC_DECIMALS, locale)} USDC`;

export const formatEth = (wei: string | bigint | null | undefined, locale: string) =>
  `${formatAmount(wei, 18, locale, 6)} ETH`;

export const formatCount = (n: number | string, locale: string) => new Intl.NumberFormat(locale).format(Number(n));

export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export const shortHex = (hex: string, head = 6, tail = 4) =>
  hex.length > head + tail + 2 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex;

/** qty × amount in base units, for the token amount a task delivers. */
export const multiply = (a: string | number, b: string) => (BigInt(a) * BigInt(b)).toString();
