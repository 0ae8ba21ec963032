'use client';

import { useI18n } from '@/lib/i18n/context';
import { formatUsdc } from '@/lib/web/format';
import type { SellerWarning as SellerWarningDto } from '@/lib/web/api';

/**
 * The warning a quote or a new x402 task carries when its seller took payment without delivering
 * before (anyone's claims, lib/x402/seller-reputation.ts): shown beside the answer, in the page's
 * language. The user may still fund the task.
 */
export function SellerWarning({ warning }: { warning: SellerWarningDto | undefined }) {
  const { t, intlLocale } = useI18n();
  if (!warning) return null;
  return (
    <p className="notice notice-warn" role="alert" data-testid="seller-warning" data-claims={warning.claims}>
      ⚠️{' '}
      {t('claim.sellerWarning', {
        claims: warning.claims,
        users: warning.users,
        amount: formatUsdc(warning.taken, intlLocale),
      })}
    </p>
  );
}
