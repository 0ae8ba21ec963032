'use client';

import { useI18n } from '@/lib/i18n/context';
import { formatUsdc } from '@/lib/web/format';
import { useFundTask } from '@/lib/web/use-fund-task';

export function FundButton({ taskId, totalCost }: { taskId: string; totalCost: string }) {
  const { t, intlLocale } = useI18n();
  const { fund, phase, error } = useFundTask(taskId, t);
  const busy = phase !== 'idle';
  return (
    <div className="fund">
      <p className="hint">{t('task.fundHint', { total: formatUsdc(totalCost, intlLocale) })}</p>
      <button
        type="button"
        className="btn btn-primary"
        data-testid="fund-button"
        disabled={busy}
        aria-busy={busy}
        onClick={() => void fund()}
      >
        {phase === 'signing' ? t('task.funding') : phase === 'submitting' ? t('task.submitting') : t('task.fund')}
      </button>
      {error && (
        <p className="error-text" role="alert" data-testid="fund-error">
          {error}
        </p>
      )}
    </div>
  );
}
