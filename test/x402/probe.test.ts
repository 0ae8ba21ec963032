import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '@/lib/errors';
import { defaultProbeTarget, probeX402Endpoint, type ProbeTarget } from '@/lib/x402/probe';
import type { Anvil } from '@/scripts/local/anvil';
import { startX402MintServer, type X402MintServer } from '@/scripts/local/x402-mint-server';
import { user } from '../support/fixtures';
import { startUsdcChain, useX402Setup } from './support';

// The probe against the local x402 mint server (official @x402/express + facilitator) on a real
// anvil: the terms it records, and each refusal. Nothing here is paid.
const alice = user(1).address;

const setup = useX402Setup();

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const failure = error as AppError;
  expect(failure.status).toBe(400);
  return { code: failure.code, message: failure.message, ...failure.details };
}

describe('probeX402Endpoint against the local server', () => {
  it('v2: records the exact requirement, the domain from extra, the token from the URL, and a recipient body', async () => {
    const requestsBefore = setup.server.stats.requests;
    const { terms, host, token, tokenSource } = await probeX402Endpoint({
      url: setup.server.mintUrl(),
      userAddress: alice,
    });
    expect(host).toBe(`127.0.0.1:${setup.server.port}`);
    expect(terms).toMatchObject({
      url: setup.server.mintUrl(),
      method: 'POST',
      body: { quantity: 1, recipient: alice },
      mintsToUser: true,
      version: 2,
      requirement: {
        scheme: 'exact',
        network: 'eip155:31337',
        asset: setup.stack.deployment.usdc,
        amount: setup.server.price.toString(),
        payTo: setup.server.payTo,
      },
      domain: setup.server.domain,
    });
    expect(token).toMatchObject({ address: setup.server.tokenAddress, symbol: 'X4D', decimals: 18 });
    expect(tokenSource).toBe('url');
    // Two unpaid requests (one mint, then X402_MINTS_PER_PAYMENT at once: its price scales), and nothing paid.
    expect(terms.mintsPerPayment).toMatchObject({ max: 10, reason: 'scales', field: 'quantity' });
    expect(setup.server.stats.requests - requestsBefore).toBe(2);
    expect(setup.server.stats.paid).toBe(0);
  });

  it('refuses requirements on another network, naming it', async () => {
    expect(
      await refusal(probeX402Endpoint({ url: setup.server.mintUrl('other-network'), userAddress: alice })),
    ).toMatchObject({
      code: 'bad_request:x402',
      reason: 'no_requirement',
      mismatch: 'network',
      network: 'eip155:1',
    });
  });

  it('refuses a price above X402_MAX_PRICE_PER_MINT (1 USDC), and takes one at it', async () => {
    const price = setup.server.price;
    try {
      setup.server.setPrice(1_000_001n);
      expect(await refusal(probeX402Endpoint({ url: setup.server.mintUrl(), userAddress: alice }))).toMatchObject({
        reason: 'price_too_high',
        amount: '1000001',
        max: '1000000',
      });
      setup.server.setPrice(1_000_000n);
      expect(
        (await probeX402Endpoint({ url: setup.server.mintUrl(), userAddress: alice })).terms.requirement.amount,
      ).toBe('1000000');
    } finally {
      setup.server.setPrice(price);
    }
  });

  it('refuses an answer that is not 402', async () => {
    // POST /health is a 404, so it is asked again with GET, which answers 200.
    expect(await refusal(probeX402Endpoint({ url: `${setup.server.url}/health`, userAddress: alice }))).toMatchObject({
      reason: 'no_402',
      status: 200,
    });
    expect(
      await refusal(probeX402Endpoint({ url: `${setup.server.url}/api/mint/${alice}`, userAddress: alice })),
    ).toMatchObject({ reason: 'no_402', status: 404 });
  });

  it('refuses http and private addresses unless the host is allowed, without connecting', async () => {
    const before = setup.server.stats.requests;
    const strict: ProbeTarget = { ...defaultProbeTarget(), allowedHosts: [] };
    expect(await refusal(probeX402Endpoint({ url: setup.server.mintUrl(), userAddress: alice }, strict))).toMatchObject(
      {
        reason: 'not_https',
      },
    );
    const https = setup.server.mintUrl().replace('http://', 'https://');
    expect(await refusal(probeX402Endpoint({ url: https, userAddress: alice }, strict))).toMatchObject({
      reason: 'blocked_address',
      range: 'loopback',
    });
    expect(
      await refusal(probeX402Endpoint({ url: https.replace('127.0.0.1', 'localhost'), userAddress: alice }, strict)),
    ).toMatchObject({
      reason: 'blocked_address',
    });
    expect(
      await refusal(probeX402Endpoint({ url: 'https://169.254.169.254/latest/meta-data', userAddress: alice }, strict)),
    ).toMatchObject({
      reason: 'blocked_address',
      range: 'metadata',
    });
    expect(setup.server.stats.requests).toBe(before);
  });

  it('uses a token the user named, and refuses one that is not an ERC20', async () => {
    const demo = setup.stack.deployment.tokens[0]!.address;
    const { token, tokenSource } = await probeX402Endpoint({
      url: setup.server.mintUrl(),
      userAddress: alice,
      tokenAddress: demo,
    });
    expect([token?.address, tokenSource]).toEqual([demo, 'message']);
    expect(
      await refusal(probeX402Endpoint({ url: setup.server.mintUrl(), userAddress: alice, tokenAddress: alice })),
    ).toMatchObject({ reason: 'token_not_erc20' });
  });

  it('refuses USDC itself as the token bought: the agent would forward the USDC it pays with', async () => {
    const usdc = setup.stack.deployment.usdc;
    const refused = await refusal(
      probeX402Endpoint({ url: setup.server.mintUrl(), userAddress: alice, tokenAddress: usdc }),
    );
    expect(refused).toMatchObject({ reason: 'token_is_payment_asset' });
    expect(refused.message).toContain(usdc);
  });
});

describe('probeX402Endpoint: v1 without extra (chain 84532, like the seed’s upstream setup.server)', () => {
  let anvil: Anvil;
  let v1: X402MintServer;
  let target: ProbeTarget;
  let usdcDomain: { name: string; version: string };

  beforeAll(async () => {
    const chain = await startUsdcChain(84532);
    anvil = chain.anvil;
    v1 = await startX402MintServer({ rpcUrl: anvil.url, usdc: chain.usdc, mode: 'v1' });
    target = {
      chainId: 84532,
      usdc: chain.usdc,
      maxAmount: 1_000_000n,
      maxAuthorizationSeconds: 180,
      client: chain.client,
    };
    usdcDomain = v1.domain;
  }, 120_000);
  afterAll(async () => {
    await v1?.stop();
    await anvil?.stop();
  });

  it('reads the v1 body, maps base-sepolia to 84532, and reads the EIP-712 domain from the asset on chain', async () => {
    const { terms, token } = await probeX402Endpoint({ url: v1.mintUrl(), userAddress: alice }, target);
    expect(terms.version).toBe(1);
    expect(terms.requirement).toMatchObject({
      scheme: 'exact',
      network: 'base-sepolia',
      amount: v1.price.toString(),
      payTo: v1.payTo,
    });
    expect(terms.requirement.extra?.name).toBeUndefined();
    expect(terms.domain).toEqual(usdcDomain);
    expect(token?.address).toBe(v1.tokenAddress);
  });

  it('refuses the same endpoint for a service on another chain', async () => {
    expect(
      await refusal(probeX402Endpoint({ url: v1.mintUrl(), userAddress: alice }, { ...target, chainId: 8453 })),
    ).toMatchObject({ mismatch: 'network', network: 'base-sepolia' });
  });
});
