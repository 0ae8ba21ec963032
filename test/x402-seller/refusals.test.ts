import { createWalletClient, getAddress, http, parseUnits, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getWalletByUser } from '@/db/wallets';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { resetRateLimits } from '@/lib/rate-limit';
import { user } from '../support/fixtures';
import { nowSeconds, type AuthorizationJson } from '../support/funding';
import { startTestStack, type TestStack } from '../support/stack';
import { startApp, type RunningApp } from '../mcp/support';
import {
  authorizationUsed,
  buyerClient,
  get,
  handMadePayment,
  payingFetch,
  post,
  requiredOf,
  usdcBalance,
} from './support';

// Every refusal of the fund route holds for a paid x402 request, before anything is created or
// settled: bad terms, a bad signature, an expired or used authorization, the wrong chain or asset,
// and the fund route's rate limits (per client IP, and per payer once the payer really signed).
// `next start` without a worker on a real Postgres and anvil; the client IP is the
// x-forwarded-for entry (TRUSTED_PROXY_HOPS=1), so each check can come from its own address.

let stack: TestStack;
let app: RunningApp;
let mintUrl: string;
let dmt: Address;
const PRICE = parseUnits('0.1', 6);

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'warn', MIN_TASK_VALUE_USDC: '0.3', TRUSTED_PROXY_HOPS: '1' } });
  app = await startApp(stack, { worker: false });
  mintUrl = `${app.url}/api/x402/mint`;
  dmt = stack.deployment.tokens[0]!.address;
}, 600_000);

afterAll(async () => {
  await app?.stop();
  await stack?.stop();
});

beforeEach(() => resetRateLimits());

let ipCount = 0;
const fromNewIp = () => ({ 'x-forwarded-for': `10.9.${Math.floor(++ipCount / 250)}.${ipCount % 250}` });

const tasksOf = async (payer: Address) =>
  Number(
    (await getSql()`select count(*)::int as n from ai_agent_tasks where user_address = ${payer.toLowerCase()}`)[0]!.n,
  );

async function agentOf(payer: Address) {
  expect((await post(mintUrl, { token: dmt, quantity: 3, payer }, fromNewIp())).status).toBe(402);
  return getAddress((await getWalletByUser({ userAddress: payer }))!.agentAddress);
}

/** Submits a signed authorization to the chain as anyone could (here anvil account 9 pays the gas). */
async function submitOnChain(a: AuthorizationJson, signature: Hex) {
  const wallet = createWalletClient({ account: user(9), chain: getChain(), transport: http(stack.anvil.url) });
  const hash = await wallet.writeContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'transferWithAuthorization',
    args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, signature],
  });
  expect((await getPublicClient().waitForTransactionReceipt({ hash })).status).toBe('success');
}

describe('a paid request passes every check of the fund route before anything is created or settled', () => {
  it('refuses wrong to, wrong value, expired, not yet valid, too short or too long a window, a forged signature, another chain or asset: 402 naming why, nothing moved', async () => {
    const buyer = user(2);
    const agent = await agentOf(buyer.address);
    const before = await usdcBalance(buyer.address);
    const cost = 3n * PRICE;
    const now = nowSeconds();
    const cases: { why: string; payment: Awaited<ReturnType<typeof handMadePayment>>; reason: RegExp }[] = [
      {
        why: 'paid to another wallet than the payer’s agent',
        payment: await handMadePayment(buyer, { payTo: user(5).address, amount: cost }),
        reason: /authorization.to must be this task's agent wallet/,
      },
      {
        why: 'more than the price',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost + 1n }),
        reason: /above the task's total cost/,
      },
      {
        why: 'expired',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost, authorization: { validBefore: now - 5 } }),
        reason: /authorization has expired/,
      },
      {
        why: 'not valid yet',
        payment: await handMadePayment(buyer, {
          payTo: agent,
          amount: cost,
          authorization: { validAfter: now + 600, validBefore: now + 900 },
        }),
        reason: /not valid yet/,
      },
      {
        why: 'expires too soon to be sent',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost, authorization: { validBefore: now + 5 } }),
        reason: /expires too soon/,
      },
      {
        why: 'valid for more than 7 days',
        payment: await handMadePayment(buyer, {
          payTo: agent,
          amount: cost,
          authorization: { validBefore: now + 8 * 86_400 },
        }),
        reason: /too far in the future/,
      },
      {
        why: 'signed by another key than `from`',
        payment: await handMadePayment(user(7), { payTo: agent, amount: cost, authorization: { from: buyer.address } }),
        reason: /signature was not made by/,
      },
      {
        why: 'another chain',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost, accepted: { network: 'eip155:8453' } }),
        reason: /AgentMint sells on eip155:31337/,
      },
      {
        why: 'another asset',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost, accepted: { asset: dmt } }),
        reason: /AgentMint takes the USDC/,
      },
      {
        why: 'another scheme',
        payment: await handMadePayment(buyer, { payTo: agent, amount: cost, accepted: { scheme: 'upto' } }),
        reason: /`exact` scheme only/,
      },
    ];
    for (const { why, payment, reason } of cases) {
      const res = await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address }, payment.headers);
      expect(res.status, why).toBe(402);
      expect(requiredOf(res.headers).error, why).toMatch(reason);
      expect(res.body, why).toMatchObject({ x402Version: 1, error: expect.stringMatching(reason) });
      expect(await authorizationUsed(payment.authorization.from, payment.nonce), why).toBe(false);
    }
    expect(await usdcBalance(buyer.address)).toBe(before);
    expect(await tasksOf(buyer.address)).toBe(0);
  });

  it('refuses an authorization whose nonce is already used on chain (spent outside AgentMint): no task, no second transfer', async () => {
    const buyer = user(3);
    const agent = await agentOf(buyer.address);
    const payment = await handMadePayment(buyer, { payTo: agent, amount: 3n * PRICE });
    await submitOnChain(payment.authorization, payment.signature);
    const after = await usdcBalance(buyer.address);
    const res = await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address }, payment.headers);
    expect(res.status).toBe(402);
    expect(requiredOf(res.headers).error).toMatch(/already used on chain/);
    expect(await usdcBalance(buyer.address)).toBe(after);
    expect(await tasksOf(buyer.address)).toBe(0);
  });

  it('the official client never pays for a token AgentMint refuses: the 400 comes before any payment', async () => {
    const buyer = user(4);
    const before = await usdcBalance(buyer.address);
    const { buy, lastPayment } = payingFetch(buyerClient(buyer));
    for (const body of [
      { token: stack.deployment.usdc, quantity: 3, payer: buyer.address },
      { token: dmt, quantity: 1001, payer: buyer.address },
      { token: dmt, quantity: 1, payer: buyer.address },
    ]) {
      const res = await buy(mintUrl, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({
        code: expect.stringMatching(/^bad_request:/),
        message: expect.any(String),
      });
    }
    expect(lastPayment()).toBeUndefined();
    expect(await usdcBalance(buyer.address)).toBe(before);
    expect(await tasksOf(buyer.address)).toBe(0);
  });
});

describe('rate limits', () => {
  const attempt = async (
    payer: Address,
    headers: Record<string, string>,
    signer = privateKeyToAccount(generatePrivateKey()),
  ) => {
    const payment = await handMadePayment(signer, { payTo: payer, amount: 3n * PRICE, authorization: { from: payer } });
    return post(mintUrl, { token: dmt, quantity: 3, payer }, { ...payment.headers, ...headers });
  };

  it('30 paid requests a minute per client IP: the 31st is 429 before anything is checked; another IP is served', async () => {
    const ip = fromNewIp();
    for (let i = 0; i < 30; i++) {
      const payer = privateKeyToAccount(generatePrivateKey());
      expect((await attempt(payer.address, ip, payer)).status).toBe(402);
    }
    const payer = privateKeyToAccount(generatePrivateKey());
    const limited = await attempt(payer.address, ip, payer);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:fund');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await attempt(payer.address, fromNewIp(), payer)).status).toBe(402);
  });

  it('30 signed attempts a minute per payer, from any IPs; attempts naming the payer with someone else’s signature do not count', async () => {
    const payer = privateKeyToAccount(generatePrivateKey());
    // Anyone can name a payer: 40 forged attempts, from 40 addresses, leave its limit untouched.
    for (let i = 0; i < 40; i++) {
      const forged = await attempt(payer.address, fromNewIp());
      expect(forged.status).toBe(402);
      expect(requiredOf(forged.headers).error).toMatch(/signature was not made by/);
    }
    for (let i = 0; i < 30; i++) expect((await attempt(payer.address, fromNewIp(), payer)).status).toBe(402);
    const limited = await attempt(payer.address, fromNewIp(), payer);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:fund');
  });

  it('60 offers a minute per client IP', async () => {
    const ip = fromNewIp();
    const payer = privateKeyToAccount(generatePrivateKey()).address;
    for (let i = 0; i < 60; i++) expect((await post(mintUrl, { token: dmt, quantity: 3, payer }, ip)).status).toBe(402);
    const limited = await post(mintUrl, { token: dmt, quantity: 3, payer }, ip);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:x402');
  });
});

describe('the task token', () => {
  it('a wrong, missing or foreign token answers 401/404 with an error only: nothing of the task leaks', async () => {
    const buyer = user(6);
    const bought = await payingFetch(buyerClient(buyer)).buy(mintUrl, {
      token: dmt,
      quantity: 3,
      payer: buyer.address,
    });
    expect(bought.status).toBe(201);
    const other = await payingFetch(buyerClient(user(8))).buy(mintUrl, {
      token: dmt,
      quantity: 4,
      payer: user(8).address,
    });
    expect(other.status).toBe(201);
    const { statusUrl, cancelUrl, task } = bought.body;
    const attempts: { headers: Record<string, string>; status: number; code: string }[] = [
      { headers: {}, status: 401, code: 'unauthorized:x402_task' },
      { headers: { authorization: 'Basic Zm9vOmJhcg==' }, status: 401, code: 'unauthorized:x402_task' },
      { headers: { authorization: `Bearer amt_${'x'.repeat(43)}` }, status: 401, code: 'unauthorized:x402_task' },
      { headers: { authorization: `Bearer ${other.body.taskToken}` }, status: 404, code: 'not_found:task' },
    ];
    for (const { headers, status, code } of attempts) {
      for (const res of [await get(statusUrl, headers), await post(cancelUrl, {}, headers)]) {
        expect(res.status).toBe(status);
        expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
        const text = JSON.stringify(res.body).toLowerCase();
        for (const secret of [buyer.address, user(8).address, task.agentAddress, other.body.task.id])
          expect(text).not.toContain(secret.toLowerCase());
      }
    }
    // A malformed task id is a 400, never a 5xx.
    const bad = await get(`${app.url}/api/x402/tasks/not-a-uuid`, { authorization: `Bearer ${bought.body.taskToken}` });
    expect(bad.status).toBe(400);
    // Nothing was cancelled by the refused attempts.
    const own = await get(statusUrl, { authorization: `Bearer ${bought.body.taskToken}` });
    expect(own.body.task.status).toBe('funded');
  }, 60_000);
});
