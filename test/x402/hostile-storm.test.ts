import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { POST as cancelPOST } from '@/app/api/ai-agent/task/[taskId]/cancel/route';
import { POST as withdrawPOST } from '@/app/api/ai-agent/wallet/[userAddress]/withdraw/route';
import { getTaskById } from '@/db/tasks';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { call, cookieFor } from '../support/routes';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, probeTerms, settledOnChain, useX402Setup } from './support';

// A seller that asks for authorizations valid ten years and answers every paid request 429
// `Retry-After: 0` (issue 22, second row: 10-year authorizations, 1,464 paid requests a second,
// still processing 30 s after the user cancelled). Now: lifetimes capped (X402_MAX_AUTHORIZATION_SECONDS,
// 180 s by default), every 429 waited out at least 1 s, X402_MAX_RATE_LIMIT_WAIT_MS in all per
// payment, a cancel cuts the wait short, and a run without progress ends (X402_STALL_TIMEOUT_MS).

const TEN_YEARS = 10 * 365 * 24 * 3600;

const setup = useX402Setup({
  env: {
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1000',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_MAX_RATE_LIMIT_WAIT_MS: '5000',
    X402_STALL_TIMEOUT_MS: '6000',
    // The user withdraws the cancelled task's USDC by hand here; on its own it would come back
    // without asking (test/wallets/refund.test.ts).
    AUTO_REFUND: 'false',
  },
  server: { maxTimeoutSeconds: TEN_YEARS },
  workerId: 'x402-storm',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stormTask(mode: 'rate-limit-storm' | 'no-answer') {
  const user = newUser();
  const terms = await probeTerms(setup.server.mintUrl(mode), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 10, token: setup.server.tokenAddress });
  return { user, terms, task };
}

describe('a seller with ten-year timeouts and a 429 storm', () => {
  it('signs for minutes, not years; sends about one paid request a second; a cancel ends the task within seconds and the USDC can be withdrawn', async () => {
    const { user, terms, task } = await stormTask('rate-limit-storm');
    // The probe keeps what the seller advertised (the v2 echo needs it) and caps what is signed.
    expect(terms.requirement.maxTimeoutSeconds).toBe(TEN_YEARS);
    expect(terms.authorizationSeconds).toBe(180);

    while ((await listX402PaymentsByTask({ taskId: task.id })).length === 0) await sleep(50);
    const before = setup.server.stats.rateLimited;
    const windowStarted = Date.now();
    await sleep(3000);
    const perSecond = ((setup.server.stats.rateLimited - before) * 1000) / (Date.now() - windowStarted);
    const [row, ...others] = await listX402PaymentsByTask({ taskId: task.id });
    // One payment in flight (no delivery proven yet), valid for 180 s.
    expect(others).toHaveLength(0);
    const lifetime = Number(row!.authorization.validBefore) - Math.floor(row!.createdAt.getTime() / 1000);
    expect(lifetime).toBeGreaterThan(170);
    expect(lifetime).toBeLessThanOrEqual(181);

    const cookie = cookieFor(user);
    const cancelledAt = Date.now();
    const cancel = await call(
      cancelPOST,
      `/api/ai-agent/task/${task.id}/cancel`,
      { taskId: task.id },
      { cookie, method: 'POST' },
    );
    expect(cancel.status).toBe(200);
    await waitForTasks([task.id], ['cancelled'], 10_000);
    const secondsToCancelled = (Date.now() - cancelledAt) / 1000;
    console.log(
      `429 storm: ${perSecond.toFixed(2)} paid requests/s, authorization lifetime ${lifetime} s, cancelled ${secondsToCancelled.toFixed(2)} s after the user asked`,
    );
    expect(perSecond).toBeLessThanOrEqual(1.5);
    expect(secondsToCancelled).toBeLessThan(3);

    // Nothing was paid, the authorization is cancelled on chain, and the whole funding comes back.
    expect((await listX402PaymentsByTask({ taskId: task.id })).map((r) => r.status)).toEqual(['cancelled']);
    expect((await settledOnChain(setup.server.usdc, task.agentAddress as Address, setup.server.payTo)).count).toBe(0);
    const userBefore = await balanceOf(setup.server.usdc, user);
    const withdraw = await call(
      withdrawPOST,
      `/api/ai-agent/wallet/${user}/withdraw`,
      { userAddress: user },
      { cookie, body: {} },
    );
    expect(withdraw.status, withdraw.text).toBe(200);
    expect(withdraw.body.amount).toBe(task.totalCost);
    expect(await balanceOf(setup.server.usdc, user)).toBe(userBefore + BigInt(task.totalCost));
  });

  it('a 429 storm nobody cancels ends the task after X402_MAX_RATE_LIMIT_WAIT_MS', async () => {
    const { task } = await stormTask('rate-limit-storm');
    const started = Date.now();
    const before = setup.server.stats.rateLimited;
    const [done] = await waitForTasks([task.id], ['failed'], 20_000);
    expect(done!.errorMessage).toMatch(/kept answering 429/);
    expect((Date.now() - started) / 1000).toBeLessThan(10);
    // At least a second per 429: about five in five seconds.
    expect(setup.server.stats.rateLimited - before).toBeLessThanOrEqual(7);
    expect((await listX402PaymentsByTask({ taskId: task.id })).map((r) => r.status)).toEqual(['cancelled']);
  });

  it('a seller that never answers a paid request: the run ends after X402_STALL_TIMEOUT_MS without progress', async () => {
    const { task } = await stormTask('no-answer');
    const started = Date.now();
    const [done] = await waitForTasks([task.id], ['failed'], 30_000);
    expect(done!.errorMessage).toMatch(/neither settled a payment nor delivered tokens for 6 s/);
    expect((Date.now() - started) / 1000).toBeLessThan(15);
    const rows = await listX402PaymentsByTask({ taskId: task.id });
    expect(rows.map((r) => r.status)).toEqual(['cancelled']);
    expect((await getTaskById({ id: task.id }))!.mintsCompleted).toBe(0);
  });
});
