import { countRateLimitHits, deleteExpiredRateLimitCounters } from '@/db/rate-limits';
import { clientIp } from './client-ip';
import { AppError } from './errors';
import { getLogger } from './log';

// Fixed-window counters in Postgres (db/rate-limits.ts), so every web process behind a balancer
// enforces one shared limit. One round trip per request checks all of its limits at once.

export type RateLimit = { limit: number; windowMs: number };
export type RateLimitCheck = RateLimit & { key: string };

/**
 * Every client whose address is unknown (a handler called without any forwarding header) shares
 * one bucket, which gets this multiple of the per-IP allowance: still a cap on floods.
 */
export const UNKNOWN_IP_FACTOR = 20;

const CLEANUP_EVERY_MS = 60_000;
let lastCleanup = 0;

function cleanUpNowAndThen() {
  const now = Date.now();
  if (now - lastCleanup < CLEANUP_EVERY_MS) return;
  lastCleanup = now;
  deleteExpiredRateLimitCounters().catch((error: unknown) =>
    getLogger().warn({ err: error instanceof Error ? error.message : String(error) }, 'rate limit cleanup failed'),
  );
}

/**
 * Counts one hit for each check and throws `rate_limited:<surface>` (429 with Retry-After in
 * seconds) when any key has more than its `limit` hits in the current window. The surface is
 * the part of the key before the first ':' (e.g. `auth:ip:1.2.3.4` → `rate_limited:auth`).
 */
export async function enforceRateLimits(checks: RateLimitCheck[]): Promise<void> {
  cleanUpNowAndThen();
  const counts = new Map((await countRateLimitHits(checks)).map((c) => [c.key, c]));
  for (const check of checks) {
    const count = counts.get(check.key);
    if (!count || count.hits <= check.limit) continue;
    const retryAfter = Math.max(1, Math.ceil(count.resetInMs / 1000));
    const surface = check.key.split(':')[0] || 'request';
    throw new AppError(`rate_limited:${surface}`, `Too many requests. Try again in ${retryAfter} s.`, {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }
}

export const enforceRateLimit = (key: string, limit: RateLimit) => enforceRateLimits([{ key, ...limit }]);

/** The check keyed by the client IP, as `<surface>:ip:<ip>` (to pass to `enforceRateLimits`). */
export function ipRateLimit(surface: string, req: Request, { limit, windowMs }: RateLimit): RateLimitCheck {
  const ip = clientIp(req);
  return { key: `${surface}:ip:${ip}`, limit: ip === 'unknown' ? limit * UNKNOWN_IP_FACTOR : limit, windowMs };
}

export const enforceIpRateLimit = (surface: string, req: Request, limit: RateLimit) =>
  enforceRateLimits([ipRateLimit(surface, req, limit)]);

/** Forgets every counter (tests). */
export { deleteAllRateLimitCounters as resetRateLimits } from '@/db/rate-limits';
