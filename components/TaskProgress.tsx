'use client';

import { useI18n } from '@/lib/i18n/context';
import { formatCount } from '@/lib/web/format';

/** The task's fields the bar shows (a task row, card or detail passes its task). */
type Progress = { status: string; quantity: number; mintsCompleted: number; mintsFailed: number };

/**
 * Whether a task has progress to show: not while it awaits payment, nor once cancelled unpaid;
 * a task cancelled while minting keeps its bar, at what was minted before the cancel.
 */
export function showsProgress({ status, mintsCompleted, mintsFailed }: Omit<Progress, 'quantity'>) {
  return status !== 'pending_payment' && (status !== 'cancelled' || mintsCompleted + mintsFailed > 0);
}

export function TaskProgress({ task: { status, quantity, mintsCompleted, mintsFailed } }: { task: Progress }) {
  const { t, intlLocale } = useI18n();
  const percent = quantity > 0 ? Math.min(100, Math.floor((mintsCompleted * 100) / quantity)) : 0;
  const label = t('task.progress', {
    done: formatCount(mintsCompleted, intlLocale),
    total: formatCount(quantity, intlLocale),
  });
  return (
    <div className="progress-wrap" data-testid="task-progress" data-status={status} data-completed={mintsCompleted}>
      <div
        className={`progress progress-${status}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={quantity}
        aria-valuenow={mintsCompleted}
        aria-valuetext={label}
      >
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <p className="progress-label">
        <span data-testid="progress-text">{label}</span>
        {mintsFailed > 0 && (
          <span className="error-text">
            {' '}
            · {t('task.progressFailed', { failed: formatCount(mintsFailed, intlLocale) })}
          </span>
        )}
      </p>
    </div>
  );
}
