import { describe, expect, it } from 'vitest';
import { getAddress } from 'viem';
import { useTestStack } from '@/test/support/use-test-stack';

const stack = useTestStack();

const ctx = { params: Promise.resolve({}) };

describe('GET /api/config', () => {
  it('describes the local chain, USDC and its EIP-712 domain, and both demo tokens', async () => {
    const { GET } = await import('@/app/api/config/route');
    const res = await GET(new Request('http://localhost/api/config'), ctx);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toMatchObject({ chain: 'local', chainId: 31337, rpcUrl: stack.anvil.url });
    expect(body.usdc).toEqual({
      address: stack.deployment.usdc,
      decimals: 6,
      domain: { name: 'USD Coin', version: '2', chainId: 31337, verifyingContract: stack.deployment.usdc },
    });
    expect(body.tokens).toHaveLength(2);
    const [dmt, apx] = body.tokens;
    expect(dmt).toEqual({
      address: getAddress(stack.deployment.tokens[0]!.address),
      name: 'Demo Mint Token',
      symbol: 'DMT',
      pricePerMint: '100000',
      mintAmount: (10n ** 21n).toString(),
      mintCount: '0',
      maxMintCount: '100000',
      remaining: '100000',
    });
    expect(apx).toMatchObject({ symbol: 'APX', pricePerMint: '250000', maxMintCount: '5000', remaining: '5000' });
  });
});

describe('GET /health', () => {
  it('is 200 with the database and the chain reachable', async () => {
    const { GET } = await import('@/app/health/route');
    const res = await GET();
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ok');
    expect(body.database).toMatchObject({ ok: true });
    expect(body.chain).toMatchObject({ ok: true, chainId: 31337 });
    expect(BigInt(body.chain.blockNumber)).toBeGreaterThan(0n);
    // The test stack runs MINT_EXECUTION=single; auto's detection is tested with the executor contract.
    expect(body.mintExecution).toMatchObject({ configured: 'single', effective: 'single' });
  });

  it('is 503 naming the chain once anvil is gone, with the database still ok', async () => {
    const { GET } = await import('@/app/health/route');
    await stack.anvil.stop();
    const started = Date.now();
    const res = await GET();
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe('degraded');
    expect(body.database).toMatchObject({ ok: true });
    expect(body.chain.ok).toBe(false);
    expect(typeof body.chain.error).toBe('string');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('is 503 naming the database once Postgres is gone', async () => {
    const { GET } = await import('@/app/health/route');
    await stack.pg.stop();
    const res = await GET();
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.database.ok).toBe(false);
    expect(JSON.stringify(body)).not.toContain('agentmint@'); // no connection string (password) in the answer
  });
});
