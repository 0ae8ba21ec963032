import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
import { POST as fundPOST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { getTaskById } from '@/db/tasks';
import { resetRateLimits } from '@/lib/rate-limit';
import { authorizationFor, signAuthorization, usdcBalance, type AuthorizationJson } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { call } from '../support/routes';

const stack = useTestStack();
beforeEach(() => resetRateLimits());

const FUND_LIMIT = 30;
const unknownTaskId = '00000000-0000-4000-8000-000000000001';
const garbageSignature = `0x${'22'.repeat(65)}`;

const fund = (taskId: string, body: { authorization: AuthorizationJson; signature: string }, ip: string) =>
  call(
    fundPOST as never,
    `/api/ai-agent/task/${taskId}/fund`,
    { taskId },
    { body, headers: { 'x-forwarded-for': ip } },
  );

const pendingTaskOf = (userAddress: `0x${string}`) =>
  createPendingTask({ userAddress, token: stack.deployment.tokens[0]!.address, quantity: 2 });

describe('fund route limits', () => {
  it('requests naming a payer without their signature do not use up the payer’s attempts', async () => {
    const victim = user(1);
    const stranger = user(2);
    const task = await pendingTaskOf(victim.address);
    // Twice the payer's allowance, each from its own IP so no per-IP limit interferes: unsigned,
    // signed by the stranger, and aimed at a task that does not exist, all naming the victim.
    for (let i = 0; i < 2 * FUND_LIMIT; i++) {
      const authorization = authorizationFor(task);
      const attempt =
        i % 3 === 0
          ? fund(task.id, { authorization, signature: garbageSignature }, `192.0.2.${i}`)
          : i % 3 === 1
            ? fund(
                task.id,
                { authorization, signature: await signAuthorization(stranger, authorization) },
                `192.0.2.${i}`,
              )
            : fund(unknownTaskId, { authorization, signature: garbageSignature }, `192.0.2.${i}`);
      const response = await attempt;
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).not.toBe(429);
    }

    const balanceBefore = await usdcBalance(victim.address);
    const authorization = authorizationFor(task);
    const paid = await fund(
      task.id,
      { authorization, signature: await signAuthorization(victim, authorization) },
      '192.0.2.200',
    );
    expect(paid.status).toBe(200);
    expect(paid.body.task.status).toBe('funded');
    expect(await usdcBalance(victim.address)).toBe(balanceBefore - BigInt(task.totalCost));
    expect((await getTaskById({ id: task.id }))?.status).toBe('funded');
  });

  it('still limits attempts the payer really signed, across IPs, with 429 and Retry-After', async () => {
    // A payer without USDC: every signed attempt passes the signature check and is then refused.
    const payer = privateKeyToAccount(generatePrivateKey());
    const task = await pendingTaskOf(payer.address);
    for (let i = 0; i < FUND_LIMIT; i++) {
      const authorization = authorizationFor(task);
      const response = await fund(
        task.id,
        { authorization, signature: await signAuthorization(payer, authorization) },
        `198.51.100.${i}`,
      );
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(/balance too low/);
    }
    const authorization = authorizationFor(task);
    const limited = await fund(
      task.id,
      { authorization, signature: await signAuthorization(payer, authorization) },
      '198.51.100.250',
    );
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:fund');
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);

    // Another payer is unaffected.
    const other = user(3);
    const otherTask = await pendingTaskOf(other.address);
    const otherAuthorization = authorizationFor(otherTask);
    const ok = await fund(
      otherTask.id,
      { authorization: otherAuthorization, signature: await signAuthorization(other, otherAuthorization) },
      '198.51.100.251',
    );
    expect(ok.status).toBe(200);
  });

  it('limits attempts per IP across addresses', async () => {
    const body = (i: number) => ({
      authorization: {
        from: user(i % 10).address,
        to: user(9).address,
        value: '1000',
        validAfter: '0',
        validBefore: '9999999999',
        nonce: `0x${'11'.repeat(32)}` as const,
      },
      signature: garbageSignature,
    });
    for (let i = 1; i <= FUND_LIMIT; i++) expect((await fund(unknownTaskId, body(i), '192.0.2.9')).status).toBe(404);
    const limited = await fund(unknownTaskId, body(3), '192.0.2.9');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:fund');
  });
});
