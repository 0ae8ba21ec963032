'use client';

import Link from 'next/link';
import { useI18n } from '@/lib/i18n/context';
import { FINAL_STATUSES, type TaskDetail, type TaskDto } from '@/lib/web/api';
import { shortHex } from '@/lib/web/format';
import { useTask } from '@/lib/web/use-task';
import { FundButton } from './FundButton';
import { RecentMints } from './RecentMints';
import { StatusBadge } from './StatusBadge';
import { TaskActions } from './TaskActions';
import { TaskFacts } from './TaskFacts';
import { showsProgress, TaskProgress } from './TaskProgress';
import { TaskTransactions } from './TaskTransactions';
import { X402Claims } from './X402Claims';

/** A task as the chat shows it: the facts, Sign & fund while unpaid, then live progress. */
export function TaskCard({ task: initial, token }: { task: TaskDto; token?: { name: string; symbol: string } }) {
  const { t } = useI18n();
  const { data } = useTask(initial.id, initial);
  const task = data ?? initial;
  const detail: TaskDetail = task;
  return (
    <section
      className="card task-card"
      data-testid="task-card"
      data-task-id={task.id}
      data-status={task.status}
      aria-label={`${t('task.title')} ${shortHex(task.id, 8, 4)}`}
    >
      <header className="card-head">
        <h3>
          {t('task.title')} <code className="muted">{shortHex(task.id, 8, 4)}</code>
        </h3>
        <StatusBadge status={task.status} />
      </header>
      <TaskFacts task={task} token={token} />
      {task.status === 'pending_payment' ? (
        <FundButton taskId={task.id} totalCost={task.totalCost} />
      ) : (
        showsProgress(task) && <TaskProgress task={task} />
      )}
      <TaskTransactions task={task} />
      {task.status !== 'pending_payment' && <RecentMints taskId={task.id} mints={detail.mints} />}
      {task.errorMessage && (task.status === 'failed' || task.status === 'cancelled') && (
        <p className="error-text" data-testid="task-error">
          {task.errorMessage}
        </p>
      )}
      <X402Claims claims={detail.claims} userAddress={task.userAddress} ended={FINAL_STATUSES.includes(task.status)} />
      <footer className="card-foot">
        <TaskActions taskId={task.id} status={task.status} cancelRequested={task.cancelRequested} />
        <Link href={`/tasks/${task.id}`} className="btn btn-ghost btn-small" data-testid="task-details-link">
          {t('task.details')}
        </Link>
      </footer>
    </section>
  );
}
