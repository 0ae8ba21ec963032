// Exponential backoff with jitter: attempt n waits base·2^(n−1), capped, then scaled by a random
// factor in [0.5, 1) so many failed deliveries do not retry in lock-step. With the defaults
// (5 s base, 10 min cap, 12 attempts) a receiver may be down for ~40 minutes before an
// event goes dead: 5+10+20+40+80+160+320+600+600+600+600 s, halved at worst by jitter.

export type BackoffPolicy = { baseMs: number; capMs: number; maxAttempts: number };

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, capMs: 10 * 60_000, maxAttempts: 12 };

/** When to try again after `attempts` failed attempts, or null to give up. */
export function nextAttemptAfter(
  attempts: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random = Math.random,
): Date | null {
  if (attempts >= policy.maxAttempts) return null;
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return new Date(Date.now() + Math.round(exp * (0.5 + random() / 2)));
}
