'use client';

import Link from 'next/link';
import { useI18n } from '@/lib/i18n/context';
import { ApiError, FINAL_STATUSES } from '@/lib/web/api';
import { formatDateTime } from '@/lib/web/format';
import { useTask } from '@/lib/web/use-task';
import { FundButton } from './FundButton';
import { MintList } from './MintList';
import { StatusBadge } from './StatusBadge';
import { TaskActions } from './TaskActions';
import { TaskFacts } from './TaskFacts';
import { showsProgress, TaskProgress } from './TaskProgress';
import { TaskTransactions } from './TaskTransactions';
import { X402Claims } from './X402Claims';

export function TaskDetailView({ taskId }: { taskId: string }) {
  const { t, intlLocale } = useI18n();
  const { data: task, error, isPending } = useTask(taskId);
  const back = (
    <Link href="/tasks" className="btn btn-ghost btn-small">
      ← {t('task.back')}
    </Link>
  );
  if (isPending) return <p className="muted">{t('common.loading')}</p>;
  if (error || !task) {
    const notFound = error instanceof ApiError && (error.status === 404 || error.status === 403);
    return (
      <section data-testid="task-detail-missing">
        {back}
        <p className="error-text" role="alert">
          {notFound ? t('task.notFound') : error?.message}
        </p>
      </section>
    );
  }
  return (
    <section className="card task-detail" data-testid="task-detail" data-task-id={task.id} data-status={task.status}>
      {back}
      <header className="card-head">
        <h1>
          {t('task.title')} <code className="muted small">{task.id}</code>
        </h1>
        <StatusBadge status={task.status} />
      </header>
      <TaskFacts task={task} />
      <p className="small muted">
        {t('task.created')}: {formatDateTime(task.createdAt, intlLocale)}
      </p>
      {task.status === 'pending_payment' && <FundButton taskId={task.id} totalCost={task.totalCost} />}
      {showsProgress(task) && <TaskProgress task={task} />}
      <TaskTransactions task={task} />
      {task.errorMessage && (
        <p className="error-text" data-testid="task-error">
          {t('task.error')}: {task.errorMessage}
        </p>
      )}
      <X402Claims claims={task.claims} userAddress={task.userAddress} ended={FINAL_STATUSES.includes(task.status)} />
      <TaskActions taskId={task.id} status={task.status} cancelRequested={task.cancelRequested} />
      <MintList mints={task.mints} />
    </section>
  );
}
