import { AppError } from './errors';

// Fixed-window counters kept in memory. Limits are therefore per web process: with N web
// processes behind a balancer a client gets up to N× the limit. That is acceptable for abuse
// protection of a small install; a shared store (Postgres/Redis) would be the next step.

type Window = { count: number; resetAt: number };

const holder = globalThis as unknown as { __agentMintRateLimits?: Map<string, Window> };
const windows = (holder.__agentMintRateLimits ??= new Map());

const MAX_KEYS = 50_000;
let lastSweep = 0;

function sweep(now: number) {
  // Expired windows are dropped at most once a second so the map cannot grow without bound.
  if (now - lastSweep < 1000 && windows.size < MAX_KEYS) return;
  lastSweep = now;
  for (const [key, w] of windows) if (w.resetAt <= now) windows.delete(key);
}

/**
 * Counts one hit for `key` and throws `rate_limited:<surface>` (429 with Retry-After in
 * seconds) once more than `limit` hits fall in the current window. The surface is the part
 * of the key before the first ':' (e.g. `auth:ip:1.2.3.4` → `rate_limited:auth`).
 */
export function enforceRateLimit(key: string, opts: { limit: number; windowMs: number }, now = Date.now()): void {
  sweep(now);
  let w = windows.get(key);
  if (!w || w.resetAt <= now) {
    w = { count: 0, resetAt: now + opts.windowMs };
    windows.set(key, w);
  }
  w.count += 1;
  if (w.count > opts.limit) {
    const retryAfter = Math.max(1, Math.ceil((w.resetAt - now) / 1000));
    const surface = key.split(':')[0] || 'request';
    throw new AppError(`rate_limited:${surface}`, `Too many requests. Try again in ${retryAfter} s.`, {
      headers: { 'Retry-After': String(retryAfter) },
    });
  }
}

/**
 * Whole numbers of clients share the 'local' bucket when no proxy names the client (a bare
 * `next start`), so that bucket gets this multiple of the per-IP allowance: still a cap on
 * floods, without one busy user locking everyone else out.
 */
export const UNKNOWN_IP_FACTOR = 20;

/** `enforceRateLimit` keyed by the client IP, as `<surface>:ip:<ip>`. */
export function enforceIpRateLimit(surface: string, req: Request, opts: { limit: number; windowMs: number }): void {
  const ip = clientIp(req);
  const limit = ip === 'local' ? opts.limit * UNKNOWN_IP_FACTOR : opts.limit;
  enforceRateLimit(`${surface}:ip:${ip}`, { limit, windowMs: opts.windowMs });
}

/** Forgets every counter (tests). */
export function resetRateLimits() {
  windows.clear();
}

/**
 * The client's IP: the first hop of x-forwarded-for (set by the proxy in front), else 'local'.
 * Without a proxy that overwrites the header a client can choose its own "IP", which is why
 * every limited route also limits per signed-in or signing address.
 */
export function clientIp(req: Request): string {
  const forwarded = req.headers.get('x-forwarded-for');
  const first = forwarded?.split(',')[0]?.trim();
  if (first) return first.slice(0, 64);
  const real = req.headers.get('x-real-ip')?.trim();
  return real ? real.slice(0, 64) : 'local';
}
