import { z } from 'zod';
import { route, json, parseWith } from '@/lib/http';
import { requireAdmin } from '@/lib/ops/admin';
import { getStatsReport, MAX_STATS_DAYS } from '@/lib/stats/daily-stats';

export const dynamic = 'force-dynamic';

const query = z.object({
  days: z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1)
    .max(MAX_STATS_DAYS)
    .default(30),
});

/** Per-day operations statistics for operators (ADMIN_ADDRESSES only). */
export const GET = route(async (req) => {
  const { days } = parseWith(
    query,
    { days: new URL(req.url).searchParams.get('days') ?? undefined },
    'bad_request:stats',
  );
  await requireAdmin(req, 'stats');
  return json(await getStatsReport({ days }));
});
