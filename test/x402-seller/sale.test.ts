import { decodePaymentResponseHeader } from '@x402/core/http';
import { validateDiscoveryExtension, type DiscoveryExtension } from '@x402/extensions/bazaar';
import { generatePaymentId } from '@x402/extensions/payment-identifier';
import { erc20Abi, getAddress, parseEther, parseEventLogs, parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { runAudit } from '@/lib/audit/run-audit';
import { getPublicClient } from '@/lib/chain/clients';
import { getWalletByUser } from '@/db/wallets';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { tokenBalance } from '../worker/support';
import { startX402MintServer, type X402MintServer } from '@/scripts/local/x402-mint-server';
import type { X402MintMode } from '@/scripts/local/x402-mint/modes';
import type { X402Terms } from '@/db/schema';
import { startBlockMiner } from '../x402/support';
import { startApp, waitUntil, type RunningApp } from '../mcp/support';
import {
  authorizationUsed,
  buyerClient,
  get,
  giveUsdc,
  handMadePayment,
  payingFetch,
  post,
  requiredOf,
  usdcBalance,
} from './support';

// An agent with its own wallet buys a mint task from AgentMint with one x402 request: the
// official client (@x402/fetch wrapFetchWithPayment + a viem account) against `next start` and a
// mint worker, on a real Postgres and anvil. The payment is the task's funding: it goes to the
// payer's own agent wallet, and the worker mints to the payer.

let stack: TestStack;
let app: RunningApp;
let x402Seller: X402MintServer;
let mintUrl: string;
let dmt: Address;
const DMT_PRICE = parseUnits('0.1', 6);
const DMT_AMOUNT = parseEther('1000');

beforeAll(async () => {
  // Slow enough mints (2 per batch, 1 s apart) that a task can be cancelled while it runs.
  stack = await startTestStack({
    env: { LOG_LEVEL: 'warn', MIN_TASK_VALUE_USDC: '0.3', MINT_BATCH_SIZE: '2', MINT_INTERVAL_MS: '1000' },
  });
  // An x402 mint endpoint to buy from by URL (0.1 USDC a mint), which the app may call over http.
  // Its payments live 10 s, so one it never settles is dead (and refundable) soon after.
  x402Seller = await startX402MintServer({
    rpcUrl: stack.anvil.url,
    usdc: stack.deployment.usdc,
    price: DMT_PRICE,
    maxTimeoutSeconds: 10,
  });
  stack.env.X402_ALLOWED_HOSTS = `127.0.0.1:${x402Seller.port}`;
  app = await startApp(stack);
  mintUrl = `${app.url}/api/x402/mint`;
  dmt = stack.deployment.tokens[0]!.address;
}, 600_000);

afterAll(async () => {
  await app?.stop();
  await x402Seller?.stop();
  await stack?.stop();
});

const tasksOf = async (payer: Address) =>
  Number(
    (await getSql()`select count(*)::int as n from ai_agent_tasks where user_address = ${payer.toLowerCase()}`)[0]!.n,
  );

const agentOf = async (payer: Address) => getAddress((await getWalletByUser({ userAddress: payer }))!.agentAddress);

describe('the offer', () => {
  it('answers 402: one exact requirement for quantity × price in USDC, paid to the payer’s own agent wallet (v2 header, v1 body), discoverable', async () => {
    const payer = user(1).address;
    const res = await post(mintUrl, { token: dmt, quantity: 5, payer });
    expect(res.status).toBe(402);
    const required = requiredOf(res.headers);
    const agent = await agentOf(payer);
    expect(required).toMatchObject({
      x402Version: 2,
      resource: { url: mintUrl, mimeType: 'application/json' },
      accepts: [
        {
          scheme: 'exact',
          network: 'eip155:31337',
          asset: stack.deployment.usdc,
          amount: String(5n * DMT_PRICE),
          payTo: agent,
          maxTimeoutSeconds: 300,
          extra: { name: 'USD Coin', version: '2' },
        },
      ],
      extensions: { 'payment-identifier': { info: { required: false } } },
    });
    const bazaar = required.extensions!.bazaar as DiscoveryExtension;
    expect(validateDiscoveryExtension(bazaar)).toEqual({ valid: true });
    expect(bazaar.info.input).toMatchObject({ type: 'http', method: 'POST', bodyType: 'json' });
    expect(Object.keys((bazaar.schema.properties.input.properties as any).body.properties)).toEqual(
      expect.arrayContaining(['token', 'url', 'quantity', 'payer']),
    );
    // v1 in the body, for clients that read no header; anvil's chain id has no v1 name.
    expect(res.body).toMatchObject({
      x402Version: 1,
      accepts: [{ scheme: 'exact', maxAmountRequired: String(5n * DMT_PRICE), payTo: agent, resource: mintUrl }],
    });
    expect(await tasksOf(payer)).toBe(0);

    const wellKnown = await get(`${app.url}/.well-known/x402`);
    expect(wellKnown.status).toBe(200);
    expect(wellKnown.body).toMatchObject({ version: 1, resources: [mintUrl] });
    expect(validateDiscoveryExtension(wellKnown.body.items[0].extensions.bazaar)).toEqual({ valid: true });
  });

  it('refuses what it cannot sell with a 4xx and no offer: unknown token, quantity 0, below the minimum value, no payer', async () => {
    const payer = user(1).address;
    const cases = [
      [{ token: stack.deployment.usdc, quantity: 5, payer }, /not a paid-mint token/],
      [{ token: '0x000000000000000000000000000000000000dEaD', quantity: 5, payer }, /no contract/],
      [{ token: dmt, quantity: 0, payer }, /Quantity must be a whole number from 1/],
      [{ token: dmt, quantity: 2, payer }, /at least 0.3 USDC/],
      [{ token: dmt, quantity: 5 }, /Say who pays: payer/],
    ] as const;
    for (const [body, message] of cases) {
      const res = await post(mintUrl, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('payment-required')).toBeNull();
      expect(res.body.error.message).toMatch(message);
    }
  });
});

describe('buying with the official client', () => {
  it('pays once, the payer owns the funded task, the worker mints the tokens to the payer, and a replay moves nothing', async () => {
    const buyer = user(2);
    const { buy, lastPayment } = payingFetch(buyerClient(buyer));
    const usdcBefore = await usdcBalance(buyer.address);

    const res = await buy(mintUrl, { token: dmt, quantity: 4, payer: buyer.address });
    expect(res.status).toBe(201);
    const agent = await agentOf(buyer.address);
    const { task, taskToken, statusUrl, cancelUrl, payment } = res.body;
    expect(task).toMatchObject({
      userAddress: buyer.address,
      agentAddress: agent,
      tokenAddress: dmt,
      quantity: 4,
      totalCost: String(4n * DMT_PRICE),
      route: 'contract',
    });
    expect(['funded', 'processing']).toContain(task.status);
    expect(task.recipient).toBeUndefined();
    expect(task.fundingTxHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(taskToken).toMatch(/^amt_[A-Za-z0-9_-]{43}$/);
    expect(statusUrl).toBe(`${app.url}/api/x402/tasks/${task.id}`);
    expect(cancelUrl).toBe(`${statusUrl}/cancel`);
    expect(payment).toMatchObject({ txHash: task.fundingTxHash, network: 'eip155:31337', payer: buyer.address });
    expect(decodePaymentResponseHeader(res.headers.get('payment-response')!)).toMatchObject({
      success: true,
      transaction: task.fundingTxHash,
      network: 'eip155:31337',
      payer: buyer.address,
    });
    // Paid once, into the payer's own agent wallet: the funding transfer is the payment.
    expect(await usdcBalance(buyer.address)).toBe(usdcBefore - 4n * DMT_PRICE);
    expect((await getPublicClient().getTransactionReceipt({ hash: task.fundingTxHash })).status).toBe('success');

    const done = await waitUntil('the task to complete', async () => {
      const status = await get(statusUrl, { authorization: `Bearer ${taskToken}` });
      expect(status.status).toBe(200);
      return status.body.task.status === 'completed' ? status.body : undefined;
    });
    expect(done.task).toMatchObject({ mintsCompleted: 4, mintsFailed: 0 });
    expect(done.mints).toHaveLength(4);
    expect(await tokenBalance(dmt, buyer.address)).toBe(4n * DMT_AMOUNT);

    // The same payment again: the same task and transaction, and no money moves. Its funding
    // transfer made the payment public, so a replay without the sale's payment-identifier proves
    // nothing about who sends it: no task token (a stranger could cancel with it).
    const usdcAfter = await usdcBalance(buyer.address);
    const replay = await post(
      mintUrl,
      { token: dmt, quantity: 4, payer: buyer.address },
      { 'payment-signature': lastPayment()! },
    );
    expect(replay.status).toBe(201);
    expect(replay.body.task).toMatchObject({ id: task.id, status: 'completed', fundingTxHash: task.fundingTxHash });
    expect(replay.body.taskToken).toBeNull();
    expect(taskToken).toMatch(/^amt_/);
    expect(await usdcBalance(buyer.address)).toBe(usdcAfter);
    expect(await tasksOf(buyer.address)).toBe(1);
    // The same payment for another purchase is refused, not settled again.
    const other = await post(
      mintUrl,
      { token: dmt, quantity: 5, payer: buyer.address },
      { 'payment-signature': lastPayment()! },
    );
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('conflict:x402_payment');
    expect(await usdcBalance(buyer.address)).toBe(usdcAfter);
  }, 120_000);

  it('buys for another recipient: the payer pays its own agent wallet, the worker mints to the recipient alone, the audit agrees', async () => {
    const buyer = privateKeyToAccount(generatePrivateKey());
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    await giveUsdc(user(9), buyer.address, parseUnits('1', 6), stack.anvil.url);
    const { buy, lastPayment } = payingFetch(buyerClient(buyer));
    const purchase = { token: dmt, quantity: 3, payer: buyer.address, recipient: recipient.toLowerCase() };

    const res = await buy(mintUrl, purchase);
    expect(res.status).toBe(201);
    const agent = await agentOf(buyer.address);
    const { task, taskToken, statusUrl } = res.body;
    expect(task).toMatchObject({ userAddress: buyer.address, recipient, agentAddress: agent, route: 'contract' });
    // The payment funded the payer's own agent wallet: one transfer, payer → agent, the task's cost.
    const funding = await getPublicClient().getTransactionReceipt({ hash: task.fundingTxHash });
    const transfers = parseEventLogs({ abi: erc20Abi, logs: funding.logs, eventName: 'Transfer' });
    expect(transfers.map((t) => t.args)).toEqual([{ from: buyer.address, to: agent, value: 3n * DMT_PRICE }]);

    const done = await waitUntil('the task to complete', async () => {
      const status = await get(statusUrl, { authorization: `Bearer ${taskToken}` });
      return status.body.task.status === 'completed' ? status.body : undefined;
    });
    expect(done.task).toMatchObject({ mintsCompleted: 3, mintsFailed: 0, recipient });
    expect(await tokenBalance(dmt, recipient)).toBe(3n * DMT_AMOUNT);
    expect(await tokenBalance(dmt, buyer.address)).toBe(0n);
    expect(await tokenBalance(dmt, agent)).toBe(0n);
    const report = await runAudit({ userAddress: buyer.address, fromBlock: 0n, record: false });
    expect(report.discrepancies).toEqual([]);

    // The recipient is part of the purchase: the same payment for the payer itself is another purchase.
    const other = await post(mintUrl, { ...purchase, recipient: undefined }, { 'payment-signature': lastPayment()! });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('conflict:x402_payment');
  }, 120_000);

  it('buys a task from an x402 endpoint by URL, the payer named as recipient: the worker pays the endpoint and the tokens arrive', async () => {
    const buyer = privateKeyToAccount(generatePrivateKey());
    await giveUsdc(user(9), buyer.address, parseUnits('1', 6), stack.anvil.url);
    const { buy } = payingFetch(buyerClient(buyer));
    const res = await buy(mintUrl, {
      url: x402Seller.mintUrl(),
      quantity: 3,
      payer: buyer.address,
      recipient: buyer.address,
    });
    expect(res.status).toBe(201);
    expect(res.body.task).toMatchObject({
      route: 'x402',
      userAddress: buyer.address,
      quantity: 3,
      totalCost: String(3n * DMT_PRICE),
    });
    expect(await usdcBalance(buyer.address)).toBe(parseUnits('1', 6) - 3n * DMT_PRICE);
    const { statusUrl, taskToken } = res.body;
    const done = await waitUntil('the x402 task to complete', async () => {
      const status = await get(statusUrl, { authorization: `Bearer ${taskToken}` });
      return status.body.task.status === 'completed' ? status.body.task : undefined;
    });
    expect(done.mintsCompleted).toBe(3);
    expect(await tokenBalance(x402Seller.tokenAddress, buyer.address)).toBe(3n * parseEther('100'));
  }, 120_000);

  describe('by URL for another recipient: the tokens reach the recipient, the payer keeps its USDC change', () => {
    // A payer with 1 USDC buys 3 mints (0.3 USDC) for a recipient that holds nothing.
    async function buyFor(mode: X402MintMode) {
      const buyer = privateKeyToAccount(generatePrivateKey());
      const recipient = privateKeyToAccount(generatePrivateKey()).address;
      await giveUsdc(user(9), buyer.address, parseUnits('1', 6), stack.anvil.url);
      const { buy } = payingFetch(buyerClient(buyer));
      const res = await buy(mintUrl, {
        url: x402Seller.mintUrl(mode),
        token: x402Seller.tokenAddress,
        quantity: 3,
        payer: buyer.address,
        recipient,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.task).toMatchObject({ route: 'x402', userAddress: buyer.address, recipient, quantity: 3 });
      expect(await usdcBalance(buyer.address)).toBe(parseUnits('1', 6) - 3n * DMT_PRICE);
      const { statusUrl, taskToken } = res.body;
      const done = await waitUntil(
        'the x402 task to complete',
        async () => {
          const status = await get(statusUrl, { authorization: `Bearer ${taskToken}` });
          return ['completed', 'failed', 'cancelled'].includes(status.body.task.status) ? status.body.task : undefined;
        },
        90_000,
      );
      expect(done, done.errorMessage ?? '').toMatchObject({ status: 'completed', mintsCompleted: 3, recipient });
      const agent = await agentOf(buyer.address);
      const task = (await getSql()`select x402 from ai_agent_tasks where id = ${done.id}`)[0]!;
      return { buyer, recipient, agent, terms: task.x402 as X402Terms };
    }

    it('an endpoint that mints to the address in the body: probed and paid with the recipient named, minted straight to it', async () => {
      const { buyer, recipient, agent, terms } = await buyFor('v2');
      expect(terms).toMatchObject({ mintsToUser: true, body: { quantity: 1, recipient } });
      expect(await tokenBalance(x402Seller.tokenAddress, recipient)).toBe(3n * parseEther('100'));
      expect(await tokenBalance(x402Seller.tokenAddress, buyer.address)).toBe(0n);
      expect(await tokenBalance(x402Seller.tokenAddress, agent)).toBe(0n);
      // Every mint was bought (3 × 0.1 USDC went to the seller); the recipient got no USDC.
      expect(await usdcBalance(buyer.address)).toBe(parseUnits('1', 6) - 3n * DMT_PRICE);
      expect(await usdcBalance(recipient)).toBe(0n);
      const report = await runAudit({ userAddress: buyer.address, fromBlock: 0n, record: false });
      expect(report.discrepancies).toEqual([]);
    }, 120_000);

    it('an endpoint that mints to the payer (and never settles): the agent forwards to the recipient alone, the unspent USDC goes back to the payer', async () => {
      // Chain time moves only with blocks: mine so the unsettled authorizations expire by chain time.
      const stopMiner = startBlockMiner(stack.anvil.url, 500);
      try {
        const { buyer, recipient, agent, terms } = await buyFor('deliver-without-settle');
        expect(terms.mintsToUser).toBe(false);
        expect(await tokenBalance(x402Seller.tokenAddress, recipient)).toBe(3n * parseEther('100'));
        expect(await tokenBalance(x402Seller.tokenAddress, buyer.address)).toBe(0n);
        expect(await tokenBalance(x402Seller.tokenAddress, agent)).toBe(0n);
        // Nothing was settled: the whole 0.3 USDC is unspent, and it is refunded to the payer, not the recipient.
        await waitUntil('the refund to the payer', async () =>
          (await usdcBalance(buyer.address)) === parseUnits('1', 6) ? true : undefined,
        );
        expect(await usdcBalance(agent)).toBe(0n);
        expect(await usdcBalance(recipient)).toBe(0n);
        const report = await runAudit({ userAddress: buyer.address, fromBlock: 0n, record: false });
        expect(report.discrepancies).toEqual([]);
      } finally {
        stopMiner();
      }
    }, 120_000);
  });

  it('a repeated payment-identifier returns the same task: the retry’s new authorization is never settled', async () => {
    const buyer = user(3);
    const paymentId = generatePaymentId('buy_');
    const first = payingFetch(buyerClient(buyer, { paymentId }));
    const usdcBefore = await usdcBalance(buyer.address);
    const bought = await first.buy(mintUrl, { token: dmt, quantity: 3, payer: buyer.address });
    expect(bought.status).toBe(201);
    expect(bought.body.payment.paymentId).toBe(paymentId);

    // The agent retries the whole call: the client signs a fresh authorization under the same id.
    const retry = payingFetch(buyerClient(buyer, { paymentId }));
    const again = await retry.buy(mintUrl, { token: dmt, quantity: 3, payer: buyer.address });
    expect(again.status).toBe(201);
    expect(again.body.task.id).toBe(bought.body.task.id);
    expect(again.body.taskToken).toBe(bought.body.taskToken);
    const retryNonce = JSON.parse(Buffer.from(retry.lastPayment()!, 'base64').toString()).payload.authorization.nonce;
    const firstNonce = JSON.parse(Buffer.from(first.lastPayment()!, 'base64').toString()).payload.authorization.nonce;
    expect(retryNonce).not.toBe(firstNonce);
    expect(await authorizationUsed(buyer.address, firstNonce)).toBe(true);
    expect(await authorizationUsed(buyer.address, retryNonce)).toBe(false);
    expect(await usdcBalance(buyer.address)).toBe(usdcBefore - 3n * DMT_PRICE);
    expect(await tasksOf(buyer.address)).toBe(1);

    // The same id for something else is a conflict, and nothing moves.
    const changed = await payingFetch(buyerClient(buyer, { paymentId })).buy(mintUrl, {
      token: dmt,
      quantity: 6,
      payer: buyer.address,
    });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('conflict:x402_payment');
    expect(await usdcBalance(buyer.address)).toBe(usdcBefore - 3n * DMT_PRICE);
  }, 60_000);

  it('two posts of one payment at once create one task and move the USDC once', async () => {
    const buyer = user(4);
    const offer = await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address });
    const { payTo, amount } = requiredOf(offer.headers).accepts[0]!;
    const { headers } = await handMadePayment(buyer, { payTo: payTo as Address, amount: BigInt(amount) });
    const before = await usdcBalance(buyer.address);
    const answers = await Promise.all(
      [0, 1, 2].map(() => post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address }, headers)),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.task.id)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.payment.txHash)).size).toBe(1);
    expect(await usdcBalance(buyer.address)).toBe(before - 3n * DMT_PRICE);
    expect(await tasksOf(buyer.address)).toBe(1);
  }, 60_000);

  it('takes an x402 v1 payment (X-PAYMENT) and answers X-PAYMENT-RESPONSE', async () => {
    const buyer = user(5);
    const offer = await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address });
    const { payTo, maxAmountRequired } = offer.body.accepts[0];
    const { headers } = await handMadePayment(buyer, { payTo, amount: BigInt(maxAmountRequired), version: 1 });
    const res = await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address }, headers);
    expect(res.status).toBe(201);
    expect(decodePaymentResponseHeader(res.headers.get('x-payment-response')!)).toMatchObject({
      success: true,
      transaction: res.body.task.fundingTxHash,
    });
  }, 60_000);
});

describe('payments that cannot buy a task are never settled', () => {
  it('too little USDC: the client pays, AgentMint answers 402 with the reason, creates nothing and moves nothing', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    await giveUsdc(user(9), poor.address, parseUnits('0.2', 6), stack.anvil.url);
    const { buy, lastPayment } = payingFetch(buyerClient(poor));
    const res = await buy(mintUrl, { token: dmt, quantity: 3, payer: poor.address });
    expect(res.status).toBe(402);
    expect(requiredOf(res.headers).error).toMatch(/USDC balance too low/);
    const nonce = JSON.parse(Buffer.from(lastPayment()!, 'base64').toString()).payload.authorization.nonce;
    expect(await authorizationUsed(poor.address, nonce)).toBe(false);
    expect(await usdcBalance(poor.address)).toBe(parseUnits('0.2', 6));
    expect(await tasksOf(poor.address)).toBe(0);
  });

  it('a payment sent for an unknown token, quantity 0, a value below the minimum, or signed by another wallet: refused, unused, nothing created', async () => {
    const buyer = user(6);
    expect((await post(mintUrl, { token: dmt, quantity: 3, payer: buyer.address })).status).toBe(402);
    const agent = await agentOf(buyer.address);
    const before = await usdcBalance(buyer.address);
    const attempts = [
      { body: { token: stack.deployment.usdc, quantity: 3, payer: buyer.address }, status: 400 },
      { body: { token: dmt, quantity: 0, payer: buyer.address }, status: 400 },
      { body: { token: dmt, quantity: 2, payer: buyer.address }, status: 400, amount: 2n * DMT_PRICE },
      // The price is 3 × 0.1; a payment of less is a payment the fund checks refuse.
      { body: { token: dmt, quantity: 3, payer: buyer.address }, status: 402, amount: 2n * DMT_PRICE },
      // Signed by someone else than the payer the request names.
      { body: { token: dmt, quantity: 3, payer: buyer.address }, status: 402, signer: user(7) },
    ];
    for (const attempt of attempts) {
      const signer = attempt.signer ?? buyer;
      const payment = await handMadePayment(signer, { payTo: agent, amount: attempt.amount ?? 3n * DMT_PRICE });
      const res = await post(mintUrl, attempt.body, payment.headers);
      expect(res.status, JSON.stringify(attempt.body)).toBe(attempt.status);
      expect(await authorizationUsed(signer.address, payment.nonce)).toBe(false);
    }
    expect(await usdcBalance(buyer.address)).toBe(before);
    expect(await tasksOf(buyer.address)).toBe(0);
  });
});

describe('the task token', () => {
  it('reads and cancels the payer’s task; none or a malformed one is 401, another task’s is 404', async () => {
    const buyer = user(8);
    const { buy } = payingFetch(buyerClient(buyer));
    const bought = await buy(mintUrl, { token: dmt, quantity: 10, payer: buyer.address });
    expect(bought.status).toBe(201);
    const { task, taskToken, statusUrl, cancelUrl } = bought.body;

    const cancelled = await post(cancelUrl, {}, { authorization: `Bearer ${taskToken}` });
    expect(cancelled.status).toBe(200);
    const ended = await waitUntil('the task to be cancelled', async () => {
      const status = await get(statusUrl, { authorization: `Bearer ${taskToken}` });
      return status.body.task.status === 'cancelled' ? status.body.task : undefined;
    });
    expect(ended.mintsCompleted).toBeLessThan(10);

    expect((await get(statusUrl)).status).toBe(401);
    expect((await get(statusUrl)).headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await get(statusUrl, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await get(statusUrl, { authorization: `Bearer amt_${'A'.repeat(43)}` })).status).toBe(401);
    expect((await post(cancelUrl, {}, { authorization: `Bearer amt_${'A'.repeat(43)}` })).status).toBe(401);

    // A token of another purchase opens only its own task.
    const other = await payingFetch(buyerClient(user(7))).buy(mintUrl, {
      token: dmt,
      quantity: 3,
      payer: user(7).address,
    });
    expect(other.status).toBe(201);
    const wrong = { authorization: `Bearer ${other.body.taskToken}` };
    expect((await get(statusUrl, wrong)).status).toBe(404);
    expect((await post(cancelUrl, {}, wrong)).status).toBe(404);
    expect((await get(`${app.url}/api/x402/tasks/${task.id}`, wrong)).body.error.code).toBe('not_found:task');
  }, 60_000);
});
