'use client';

import { useI18n } from '@/lib/i18n/context';
import type { MessageKey } from '@/lib/i18n/locale';

export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  const key = `status.${status}` as MessageKey;
  return (
    <span className={`badge badge-${status}`} data-testid="status-badge" data-status={status}>
      {t(key)}
    </span>
  );
}
