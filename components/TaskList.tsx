'use client';

import { useQuery } from '@tanstack/react-query';
import { useI18n } from '@/lib/i18n/context';
import { api } from '@/lib/web/api';
import { TaskRow } from './TaskRow';

export function TaskList({ address }: { address: `0x${string}` }) {
  const { t } = useI18n();
  const tasks = useQuery({ queryKey: ['tasks', address], queryFn: () => api.tasks(address, 50) });
  return (
    <section aria-labelledby="tasks-title" className="tasks" data-testid="tasks" data-loaded={tasks.isSuccess}>
      <div className="section-head">
        <h1 id="tasks-title">{t('tasks.title')}</h1>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => void tasks.refetch()}
          data-testid="tasks-refresh"
        >
          {t('tasks.refresh')}
        </button>
      </div>
      {tasks.isPending && <p className="muted">{t('tasks.loading')}</p>}
      {tasks.isError && <p className="error-text">{t('tasks.error', { message: tasks.error.message })}</p>}
      {tasks.data?.length === 0 && (
        <p className="muted" data-testid="tasks-empty">
          {t('tasks.empty')}
        </p>
      )}
      <ul className="task-list" data-testid="task-list">
        {tasks.data?.map((task) => (
          <TaskRow key={task.id} task={task} />
        ))}
      </ul>
    </section>
  );
}
