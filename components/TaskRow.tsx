'use client';

import Link from 'next/link';
import { useI18n } from '@/lib/i18n/context';
import type { TaskDto } from '@/lib/web/api';
import { formatCount, formatDateTime, formatUsdc, shortHex } from '@/lib/web/format';
import { useTask } from '@/lib/web/use-task';
import { useTokenInfo } from '@/lib/web/use-tokens';
import { StatusBadge } from './StatusBadge';
import { TaskActions } from './TaskActions';
import { TaskProgress } from './TaskProgress';

export function TaskRow({ task: initial }: { task: TaskDto }) {
  const { t, intlLocale } = useI18n();
  const { data } = useTask(initial.id, initial);
  const task = data ?? initial;
  const token = useTokenInfo(task.tokenAddress);
  return (
    <li className="card task-row" data-testid="task-row" data-task-id={task.id} data-status={task.status}>
      <div className="task-row-main">
        <div>
          <Link href={`/tasks/${task.id}`} className="task-row-title" data-testid="task-row-link">
            {formatCount(task.quantity, intlLocale)} × {token?.symbol ?? shortHex(task.tokenAddress)}
          </Link>
          <p className="muted small">
            {formatUsdc(task.totalCost, intlLocale)} · {formatDateTime(task.createdAt, intlLocale)}
            {task.route === 'x402' && task.endpoint && (
              <span data-testid="task-row-route">
                {' '}
                · {t('task.routeX402', { host: task.endpoint.host, version: String(task.endpoint.version) })}
              </span>
            )}
          </p>
        </div>
        <StatusBadge status={task.status} />
      </div>
      {task.status !== 'pending_payment' && task.status !== 'cancelled' && <TaskProgress task={task} />}
      {task.status === 'failed' && task.errorMessage && (
        <p className="error-text small" data-testid="task-error">
          {task.errorMessage}
        </p>
      )}
      <TaskActions taskId={task.id} status={task.status} cancelRequested={task.cancelRequested} />
    </li>
  );
}
