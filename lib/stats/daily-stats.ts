import { countTasksByStatus, listDailyStats, type DailyStatsRow } from '@/db/stats';
import type { TaskStatus } from '@/db/schema';

export const MAX_STATS_DAYS = 365;

export type StatsReport = {
  days: number;
  from: string;
  to: string;
  series: DailyStatsRow[];
  totals: {
    tasksCompleted: number;
    tasksFailed: number;
    mints: number;
    avgTaskSeconds: number | null;
    gasSpentWei: string;
  };
  queue: Record<TaskStatus, number>;
};

/** Per-day series for the last `days` UTC days plus totals and the queue as it is now. */
export async function getStatsReport({ days, now = new Date() }: { days: number; now?: Date }): Promise<StatsReport> {
  const [series, queue] = await Promise.all([listDailyStats({ days, now }), countTasksByStatus()]);
  const completed = series.reduce((n, d) => n + d.tasksCompleted, 0);
  // Weighted by completed tasks per day, so the total is the true mean over the window.
  const weighted = series.reduce((n, d) => n + (d.avgTaskSeconds ?? 0) * d.tasksCompleted, 0);
  return {
    days,
    from: series[0]?.day ?? '',
    to: series.at(-1)?.day ?? '',
    series,
    totals: {
      tasksCompleted: completed,
      tasksFailed: series.reduce((n, d) => n + d.tasksFailed, 0),
      mints: series.reduce((n, d) => n + d.mints, 0),
      avgTaskSeconds: completed ? Math.round((weighted / completed) * 10) / 10 : null,
      gasSpentWei: series.reduce((n, d) => n + BigInt(d.gasSpentWei), 0n).toString(),
    },
    queue,
  };
}
