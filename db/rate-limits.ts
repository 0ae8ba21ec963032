import { getSql } from './client';

export type RateLimitHit = { key: string; windowMs: number };
export type RateLimitCount = { key: string; hits: number; resetInMs: number };

/**
 * Counts one hit for each key in one statement and returns each key's hits in its current
 * window. A key's window opens at its first hit and lasts `windowMs` on the database clock (the
 * one clock every web process shares); the first hit after it ends opens the next. Keys are
 * deduplicated and sorted so that concurrent calls lock rows in the same order.
 */
export async function countRateLimitHits(hits: RateLimitHit[]): Promise<RateLimitCount[]> {
  const unique = [...new Map(hits.map((h) => [h.key, h])).values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
  );
  if (unique.length === 0) return [];
  const sql = getSql();
  const rows = await sql<{ key: string; hits: number; reset_in_ms: number }[]>`
    insert into rate_limit_counters as c (key, window_start, hits, expires_at)
    select k, now(), 1, now() + make_interval(secs => ms / 1000.0)
    from unnest(${sql.array(unique.map((h) => h.key))}::text[], ${sql.array(unique.map((h) => h.windowMs))}::int[]) with ordinality as t(k, ms, n)
    order by n
    on conflict (key) do update set
      hits = case when c.expires_at > now() then c.hits + 1 else 1 end,
      window_start = case when c.expires_at > now() then c.window_start else now() end,
      expires_at = case when c.expires_at > now() then c.expires_at else excluded.expires_at end
    returning key, hits, ceil(extract(epoch from (expires_at - now())) * 1000)::int as reset_in_ms`;
  return rows.map((r) => ({ key: r.key, hits: r.hits, resetInMs: r.reset_in_ms }));
}

/** Deletes counters whose window ended; returns how many. Bounded so one call stays short. */
export async function deleteExpiredRateLimitCounters({ limit = 5000 }: { limit?: number } = {}): Promise<number> {
  const sql = getSql();
  const rows = await sql`
    delete from rate_limit_counters where key in (
      select key from rate_limit_counters where expires_at < now() order by expires_at limit ${limit}
    ) and expires_at < now()
    returning 1`;
  return rows.length;
}

/** Forgets every counter (tests). */
export async function deleteAllRateLimitCounters(): Promise<void> {
  await getSql()`delete from rate_limit_counters`;
}
