import { createHmac, timingSafeEqual } from 'node:crypto';

// `x-agentmint-signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the
// timestamp (unix seconds) sent in `x-agentmint-timestamp`. Signing the timestamp with the body
// lets a receiver refuse replays older than a few minutes.

export const WEBHOOK_HEADERS = {
  event: 'x-agentmint-event',
  delivery: 'x-agentmint-delivery',
  timestamp: 'x-agentmint-timestamp',
  signature: 'x-agentmint-signature',
} as const;

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time; refuse stale timestamps. */
export function verifyWebhookSignature(
  { secret, timestamp, body, signature }: { secret: string; timestamp: string; body: string; signature: string },
  { toleranceSeconds = 300, now = Date.now() } = {},
): boolean {
  const age = Math.abs(now / 1000 - Number(timestamp));
  if (!Number.isFinite(age) || age > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
