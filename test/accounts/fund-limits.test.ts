import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POST as fundPOST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { resetRateLimits } from '@/lib/rate-limit';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { call } from '../support/routes';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ chain: false });
});
afterAll(async () => stack?.stop());
beforeEach(() => resetRateLimits());

// An unknown task: the route refuses it after the limits, so each attempt is cheap.
const taskId = '00000000-0000-4000-8000-000000000001';
const body = (from: string) => ({
  authorization: {
    from,
    to: user(9).address,
    value: '1000',
    validAfter: '0',
    validBefore: '9999999999',
    nonce: `0x${'11'.repeat(32)}`,
  },
  signature: `0x${'22'.repeat(65)}`,
});
const fund = (from: string, ip: string) =>
  call(
    fundPOST as never,
    `/api/ai-agent/task/${taskId}/fund`,
    { taskId },
    { body: body(from), headers: { 'x-forwarded-for': ip } },
  );

describe('fund route limits', () => {
  it('limits attempts per paying address across IPs, with 429 and Retry-After', async () => {
    for (let i = 0; i < 30; i++) expect((await fund(user(1).address, `192.0.2.${i}`)).status).not.toBe(429);
    const limited = await fund(user(1).address, '192.0.2.250');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:fund');
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fund(user(2).address, '192.0.2.251')).status).not.toBe(429);
  });

  it('limits attempts per IP across addresses', async () => {
    for (let i = 1; i <= 30; i++) expect((await fund(user(i % 10).address, '192.0.2.9')).status).not.toBe(429);
    expect((await fund(user(3).address, '192.0.2.9')).status).toBe(429);
  });
});
