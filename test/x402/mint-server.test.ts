import { createPublicClient, createWalletClient, erc20Abi, http, parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapFetchWithPayment } from '@x402/fetch';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { x402HTTPClient } from '@x402/core/client';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { createPaymentClient } from '@/lib/x402/payment-client';
import { anvilAccount, type Anvil } from '@/scripts/local/anvil';
import { startX402MintServer, type X402MintServer } from '@/scripts/local/x402-mint-server';
import { startUsdcChain } from './support';

// The local x402 mint server, bought from with the official client (@x402/fetch): it settles
// on chain before minting, never twice for one authorization, and misbehaves only as asked.

type Chain = { anvil: Anvil; usdc: Address; server: X402MintServer };

async function startChain(chainId: number, mode: 'v2' | 'v1'): Promise<Chain> {
  const { anvil, usdc } = await startUsdcChain(chainId);
  const server = await startX402MintServer({ rpcUrl: anvil.url, usdc, mode, queueDelayMs: 300, slowMs: 300 });
  return { anvil, usdc, server };
}

async function newPayer(c: Chain, usdc = parseUnits('10', 6)) {
  const account = privateKeyToAccount(generatePrivateKey());
  const chain = {
    id: c.server.chainId,
    name: 'test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [c.anvil.url] } },
  };
  const deployer = createWalletClient({ account: anvilAccount(0), chain, transport: http(c.anvil.url) });
  const publicClient = createPublicClient({ chain, transport: http(c.anvil.url), pollingInterval: 20 });
  await publicClient.waitForTransactionReceipt({
    hash: await deployer.writeContract({
      address: c.usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [account.address, usdc],
    }),
  });
  const client = createPaymentClient(account, {
    network: `eip155:${c.server.chainId}`,
    asset: c.usdc,
    amount: c.server.price,
    domain: c.server.domain,
  });
  const sent: Headers[] = [];
  const recording: typeof fetch = (input, init) => {
    sent.push(new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)));
    return fetch(input, init);
  };
  const balance = (token: Address, who: Address = account.address) =>
    publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] });
  /** A signed payment for the next request, not sent: its header. */
  const sign = async () => {
    const http402 = new x402HTTPClient(client);
    const probe = await fetch(c.server.mintUrl());
    return http402.encodePaymentSignatureHeader(
      await http402.createPaymentPayload(http402.getPaymentRequiredResponse((name) => probe.headers.get(name))),
    );
  };
  return { account, pay: wrapFetchWithPayment(recording, client), sent, balance, sign, publicClient };
}

describe('x402 mint server (v2)', () => {
  let c: Chain;
  beforeAll(async () => void (c = await startChain(31337, 'v2')), 60_000);
  afterAll(async () => {
    await c?.server.stop();
    await c?.anvil.stop();
  });

  it('answers 402 with v2 requirements (upfront, domain in extra), then mints to the payer once paid', async () => {
    const probe = await fetch(c.server.mintUrl());
    expect(probe.status).toBe(402);
    const required = decodePaymentRequiredHeader(probe.headers.get('payment-required')!);
    expect(required.accepts[0]).toMatchObject({
      scheme: 'exact',
      network: 'eip155:31337',
      asset: c.usdc,
      amount: '10000',
      payTo: c.server.tokenAddress,
    });
    expect(required.accepts[0]!.extra).toMatchObject({ name: 'USD Coin', version: '2', paymentFlow: 'upfront' });

    const payer = await newPayer(c);
    const res = await payer.pay(c.server.mintUrl());
    expect(res.status).toBe(200);
    const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
    expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await payer.balance(c.server.tokenAddress)).toBe(c.server.mintAmount);
    expect(await payer.balance(c.usdc)).toBe(parseUnits('10', 6) - 10_000n);
  });

  it('POST with a recipient mints to the recipient; a replayed payment is refused and mints nothing', async () => {
    const payer = await newPayer(c);
    const recipient = privateKeyToAccount(generatePrivateKey()).address;
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ quantity: 1, recipient }),
    };
    const res = await payer.pay(c.server.mintUrl(), init);
    expect(res.status).toBe(200);
    expect(await payer.balance(c.server.tokenAddress, recipient)).toBe(c.server.mintAmount);

    const paidHeader = payer.sent.at(-1)!.get('payment-signature')!;
    const replay = await fetch(c.server.mintUrl(), {
      ...init,
      headers: { ...init.headers, 'payment-signature': paidHeader },
    });
    expect(replay.status).toBe(402);
    expect(await payer.balance(c.server.tokenAddress, recipient)).toBe(c.server.mintAmount);
    expect(await payer.balance(c.usdc)).toBe(parseUnits('10', 6) - 10_000n);
  });

  it('five posts of one payment at once: settled once, minted once; different payments settle on several keys', async () => {
    const payer = await newPayer(c);
    const headers = await payer.sign();
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(c.server.mintUrl(), { headers })));
    expect(answers.map((r) => r.status).filter((s) => s === 200)).toHaveLength(1);
    expect(await payer.balance(c.server.tokenAddress)).toBe(c.server.mintAmount);
    expect(await payer.balance(c.usdc)).toBe(parseUnits('10', 6) - 10_000n);

    // Twelve payers at once: their settlements go out from more than one facilitator key.
    const payers = [];
    for (let i = 0; i < 12; i++) payers.push(await newPayer(c)); // one USDC owner key: one at a time
    const paid = await Promise.all(payers.map((p) => p.pay(c.server.mintUrl())));
    expect(paid.map((r) => r.status)).toEqual(paid.map(() => 200));
    const txs = paid.map(
      (r) => decodePaymentResponseHeader(r.headers.get('payment-response')!).transaction as `0x${string}`,
    );
    const senders = new Set(
      await Promise.all(
        txs.map(async (hash) => (await payer.publicClient.getTransaction({ hash })).from.toLowerCase()),
      ),
    );
    expect(senders.size).toBeGreaterThan(1);
    for (const s of senders) expect(c.server.settlerAddresses.map((a) => a.toLowerCase())).toContain(s);
  });

  it('refuses bad input before any payment: unknown token 404, quantity out of range 400', async () => {
    expect((await fetch(`${c.server.url}/api/mint/0x0000000000000000000000000000000000000001`)).status).toBe(404);
    const res = await fetch(c.server.mintUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ quantity: 11 }),
    });
    expect(res.status).toBe(400);
  });

  it('rate-limit mode: 429 with Retry-After, payment untouched', async () => {
    const payer = await newPayer(c);
    const res = await payer.pay(c.server.mintUrl('rate-limit'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await payer.balance(c.usdc)).toBe(parseUnits('10', 6));
  });

  it('queued mode: 200 pending, tokens arrive later, the status route reports them', async () => {
    const payer = await newPayer(c);
    const res = await payer.pay(c.server.mintUrl('queued'));
    const body = (await res.json()) as { queueId: string; status: string };
    expect(body.status).toBe('pending');
    expect(await payer.balance(c.server.tokenAddress)).toBe(0n);
    await new Promise((r) => setTimeout(r, 1000));
    const status = (await (await fetch(`${c.server.url}/api/queue/${body.queueId}`)).json()) as { status: string };
    expect(status.status).toBe('completed');
    expect(await payer.balance(c.server.tokenAddress)).toBe(c.server.mintAmount);
  });

  it('price-rise mode: after the first 402 the price doubles; other-network quotes eip155:1 only', async () => {
    const first = decodePaymentRequiredHeader(
      (await fetch(c.server.mintUrl('price-rise'))).headers.get('payment-required')!,
    );
    const second = decodePaymentRequiredHeader(
      (await fetch(c.server.mintUrl('price-rise'))).headers.get('payment-required')!,
    );
    expect(BigInt(second.accepts[0]!.amount)).toBe(2n * BigInt(first.accepts[0]!.amount));
    const other = decodePaymentRequiredHeader(
      (await fetch(c.server.mintUrl('other-network'))).headers.get('payment-required')!,
    );
    expect(other.accepts.map((a) => a.network)).toEqual(['eip155:1']);
  });

  it('settle-then-500 mode: the money moves and the tokens are minted, the answer is a 500', async () => {
    const payer = await newPayer(c);
    const res = await payer.pay(c.server.mintUrl('settle-then-500'));
    expect(res.status).toBe(500);
    expect(await payer.balance(c.usdc)).toBe(parseUnits('10', 6) - 10_000n);
    expect(await payer.balance(c.server.tokenAddress)).toBe(c.server.mintAmount);
  });
});

describe('x402 mint server (v1, chain 84532)', () => {
  let c: Chain;
  beforeAll(async () => void (c = await startChain(84532, 'v1')), 60_000);
  afterAll(async () => {
    await c?.server.stop();
    await c?.anvil.stop();
  });

  it('answers a v1 402 body without extra; a payment signed with the supplied domain settles and mints', async () => {
    const probe = await fetch(c.server.mintUrl(), { method: 'POST' });
    expect(probe.status).toBe(402);
    const body = (await probe.json()) as { x402Version: number; accepts: Record<string, unknown>[] };
    expect(body.x402Version).toBe(1);
    expect(body.accepts[0]).toMatchObject({
      scheme: 'exact',
      network: 'base-sepolia',
      maxAmountRequired: '10000',
      asset: c.usdc,
    });
    expect(body.accepts[0]!.extra).toBeUndefined();
    expect(String(body.accepts[0]!.resource)).toMatch(/^https:\/\//);

    const payer = await newPayer(c);
    const res = await payer.pay(c.server.mintUrl(), { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-payment-response')).toBeTruthy();
    expect(await payer.balance(c.server.tokenAddress)).toBe(c.server.mintAmount);
  });
});
