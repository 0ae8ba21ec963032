import { describe, expect, it } from 'vitest';
import { statusUrlOf, statusWordOf } from '@/worker/x402/status-route';

// A "200 = queued" answer is the seller's words: only a status route on the endpoint's own
// origin is followed, and only clear words count as minted or failed.

const endpoint = 'http://127.0.0.1:4021/api/mint/0xabc?mode=queued';

describe('statusUrlOf', () => {
  it('resolves a relative route against the endpoint', () => {
    const named = statusUrlOf(endpoint, { queueId: 'q1', statusUrl: '/api/queue/q1' });
    expect(named && 'url' in named && named.url.toString()).toBe('http://127.0.0.1:4021/api/queue/q1');
    const snake = statusUrlOf(endpoint, { status_url: 'queue/q2' });
    expect(snake && 'url' in snake && snake.url.toString()).toBe('http://127.0.0.1:4021/api/mint/queue/q2');
  });

  it.each([
    ['another host', 'http://evil.example/api/queue/q1'],
    ['the same host by another name', 'http://localhost:4021/api/queue/q1'],
    ['another port', 'http://127.0.0.1:4022/api/queue/q1'],
    ['another scheme', 'https://127.0.0.1:4021/api/queue/q1'],
    ['a protocol-relative host', '//evil.example/q1'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a file: URL', 'file:///etc/passwd'],
  ])('refuses %s', (_what, statusUrl) => {
    const named = statusUrlOf(endpoint, { statusUrl });
    expect(named && 'refused' in named && named.refused).toMatch(/not followed|not a URL/);
  });

  it('names nothing when the answer has no string route', () => {
    expect(statusUrlOf(endpoint, { success: true })).toBeUndefined();
    expect(statusUrlOf(endpoint, { statusUrl: 42 })).toBeUndefined();
    expect(statusUrlOf(endpoint, 'queued')).toBeUndefined();
    expect(statusUrlOf(endpoint, null)).toBeUndefined();
  });
});

describe('statusWordOf', () => {
  it('reads minted, failed, or pending', () => {
    expect(statusWordOf({ status: 'completed' })).toBe('minted');
    expect(statusWordOf({ state: 'Minted' })).toBe('minted');
    expect(statusWordOf({ status: 'failed' })).toBe('failed');
    expect(statusWordOf({ status: 'refunded' })).toBe('failed');
    expect(statusWordOf({ status: 'pending' })).toBe('pending');
    expect(statusWordOf({ status: 'completed soon' })).toBe('pending');
    expect(statusWordOf({ status: { completed: true } })).toBe('pending');
    expect(statusWordOf('completed')).toBe('pending');
  });
});
