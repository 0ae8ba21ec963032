import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { getSql } from '@/db/client';
import { countRateLimitHits, deleteExpiredRateLimitCounters } from '@/db/rate-limits';
import { clientIp } from '@/lib/client-ip';
import { ARRIVED_FORWARDED_FOR } from '@/lib/forwarded-for';
import { enforceRateLimit, enforceRateLimits, resetRateLimits } from '@/lib/rate-limit';
import { useTestStack } from '../support/use-test-stack';

const stack = useTestStack({ chain: false });
beforeEach(() => resetRateLimits());

describe('Postgres rate limit counters', () => {
  it('counts hits per key in a fixed window and opens a new window once it has passed', async () => {
    const limit = { limit: 2, windowMs: 1000 };
    await enforceRateLimit('t:k', limit);
    await enforceRateLimit('t:k', limit);
    await expect(enforceRateLimit('t:k', limit)).rejects.toMatchObject({ code: 'rate_limited:t' });
    await expect(enforceRateLimit('t:other', limit)).resolves.toBeUndefined();
    await sleep(1050);
    await expect(enforceRateLimit('t:k', limit)).resolves.toBeUndefined();
  });

  it('answers 429 with a Retry-After within the window', async () => {
    await enforceRateLimit('t:retry', { limit: 1, windowMs: 60_000 });
    const error = await enforceRateLimit('t:retry', { limit: 1, windowMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'rate_limited:t', status: 429 });
    const retryAfter = Number((error as { headers: Record<string, string> }).headers['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('lets exactly `limit` of many simultaneous hits through', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => enforceRateLimit('t:burst', { limit: 15, windowMs: 60_000 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
  });

  it('checks several keys in one statement and fails on the one over its limit', async () => {
    await enforceRateLimits([
      { key: 'a:user:1', limit: 1, windowMs: 60_000 },
      { key: 'b:ip:1', limit: 5, windowMs: 60_000 },
    ]);
    await expect(
      enforceRateLimits([
        { key: 'b:ip:1', limit: 5, windowMs: 60_000 },
        { key: 'a:user:1', limit: 1, windowMs: 60_000 },
      ]),
    ).rejects.toMatchObject({ code: 'rate_limited:a' });
    const [b] = await countRateLimitHits([{ key: 'b:ip:1', windowMs: 60_000 }]);
    expect(b!.hits).toBe(3);
  });

  it('deletes counters whose window has ended, and only those', async () => {
    await countRateLimitHits([
      { key: 'old:1', windowMs: 60_000 },
      { key: 'live:1', windowMs: 60_000 },
    ]);
    await getSql()`update rate_limit_counters set expires_at = now() - interval '1 second' where key = 'old:1'`;
    expect(await deleteExpiredRateLimitCounters()).toBe(1);
    const keys = await getSql()`select key from rate_limit_counters order by key`;
    expect(keys.map((r) => r.key)).toEqual(['live:1']);
  });
});

describe('clientIp', () => {
  const req = (headers: Record<string, string>) => new Request('http://localhost/', { headers });

  it('with no trusted proxy, takes the socket address Next filled in, whatever the client wrote', () => {
    // proxy.ts moved the client's header aside; Next set x-forwarded-for to the socket.
    const spoofed = req({ [ARRIVED_FORWARDED_FOR]: '203.0.113.7, 198.51.100.1', 'x-forwarded-for': '192.0.2.10' });
    expect(clientIp(spoofed, 0)).toBe('192.0.2.10');
    expect(clientIp(req({ 'x-forwarded-for': '192.0.2.10' }), 0)).toBe('192.0.2.10');
  });

  it('with N trusted proxies, takes the Nth entry from the right of what arrived, never the first', () => {
    // client wrote 203.0.113.7; our proxy appended the address it saw (198.51.100.1); socket = our proxy.
    const viaProxy = req({ [ARRIVED_FORWARDED_FOR]: '203.0.113.7, 198.51.100.1', 'x-forwarded-for': '10.0.0.2' });
    expect(clientIp(viaProxy, 1)).toBe('198.51.100.1');
    const viaTwo = req({
      [ARRIVED_FORWARDED_FOR]: '203.0.113.7, 198.51.100.1, 10.0.0.9',
      'x-forwarded-for': '10.0.0.2',
    });
    expect(clientIp(viaTwo, 2)).toBe('198.51.100.1');
  });

  it('warns about TRUSTED_PROXY_HOPS=0 only when a proxy wrote x-forwarded-for, not for the socket address Next filled in', async () => {
    vi.resetModules(); // a fresh once-only warning flag
    const { clientIp } = await import('@/lib/client-ip');
    const warn = vi.spyOn((await import('@/lib/log')).getLogger(), 'warn');
    expect(clientIp(req({ [ARRIVED_FORWARDED_FOR]: '::1', 'x-forwarded-for': '::1' }), 0)).toBe('::1');
    expect(warn).not.toHaveBeenCalled();
    expect(clientIp(req({ [ARRIVED_FORWARDED_FOR]: '203.0.113.7', 'x-forwarded-for': '10.0.0.2' }), 0)).toBe(
      '10.0.0.2',
    );
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('falls back to the leftmost entry when fewer hops arrived than configured, and to unknown', () => {
    expect(clientIp(req({ 'x-forwarded-for': '192.0.2.10' }), 2)).toBe('192.0.2.10');
    expect(clientIp(req({}), 0)).toBe('unknown');
  });
});
