'use client';

import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { api, canCancel, canRetry } from '@/lib/web/api';
import { useTaskInvalidation } from '@/lib/web/use-task';

/** Cancel and retry, offered only where the task lifecycle allows them. */
export function TaskActions({
  taskId,
  status,
  cancelRequested,
}: {
  taskId: string;
  status: string;
  cancelRequested?: boolean;
}) {
  const { t } = useI18n();
  const invalidate = useTaskInvalidation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: (id: string) => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action(taskId);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      await invalidate(taskId);
      setBusy(false);
    }
  };
  const showCancel = canCancel(status) && !cancelRequested;
  if (cancelRequested && canCancel(status)) {
    return (
      <p className="muted small" role="status" data-testid="task-cancelling">
        {t('task.cancelling')}
      </p>
    );
  }
  if (!showCancel && !canRetry(status)) return null;
  return (
    <div className="task-actions">
      {showCancel && (
        <button
          type="button"
          className="btn btn-danger"
          data-testid="task-cancel"
          disabled={busy}
          onClick={() => void run(api.cancel)}
        >
          {t('task.cancel')}
        </button>
      )}
      {canRetry(status) && (
        <button
          type="button"
          className="btn"
          data-testid="task-retry"
          disabled={busy}
          onClick={() => void run(api.retry)}
        >
          {t('task.retry')}
        </button>
      )}
      {error && (
        <p className="error-text" role="alert" data-testid="task-action-error">
          {error}
        </p>
      )}
    </div>
  );
}
