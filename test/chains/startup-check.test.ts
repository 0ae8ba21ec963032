import path from 'node:path';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnvil, type Anvil } from '@/scripts/local/anvil';
import { deployLocalContracts, fundOperator } from '@/scripts/local/deploy';
import { freePort } from '@/scripts/local/ports';
import { startTestStack, type TestStack } from '../support/stack';
import { spawnWorker } from '../support/worker';
import { deployUsdcLookalike, useAppEnv } from './support';

// The startup check (lib/startup-check.ts) on an anvil under Polygon Amoy's chain id: it reads
// the USDC's domain from the chain and proves EIP-3009 before the web server or a worker
// starts, refusing, in words an operator can act on, a USDC that could never be funded with.

let stack: TestStack;
let anvil: Anvil;
let testUsdc: Address;
let plainErc20: Address;
let lookalike: Address;

beforeAll(async () => {
  stack = await startTestStack({ chain: false, env: { METRICS_TOKEN: 'startup-check-test-metrics-token' } });
  anvil = await startAnvil({ port: await freePort(), chainId: 80002 });
  await fundOperator(anvil.url, stack.operator);
  const deployment = await deployLocalContracts(anvil.url, stack.operator);
  testUsdc = deployment.usdc;
  plainErc20 = deployment.tokens[0]!.address;
  lookalike = await deployUsdcLookalike(anvil.url);
}, 60_000);

afterAll(async () => {
  await anvil?.stop();
  await stack?.stop();
}, 30_000);

async function checkWith(env: Record<string, string | undefined>) {
  useAppEnv({
    CHAIN: 'polygon-amoy',
    RPC_URL: anvil.url,
    DEPLOYMENT_FILE: path.join(stack.dir, 'none.json'),
    USDC_ADDRESS: undefined,
    ...env,
  });
  const { checkUsdc } = await import('@/lib/startup-check');
  return checkUsdc();
}

describe('startup check: the USDC is read from the chain and must be EIP-3009', () => {
  it('an EIP-3009 USDC (USDC_ADDRESS over the network default): its domain, read from the chain', async () => {
    const check = await checkWith({ USDC_ADDRESS: testUsdc });
    expect(check).toEqual({
      status: 'ok',
      message: `USDC ${testUsdc} on chain 80002: EIP-712 domain "USD Coin" version "2", EIP-3009 transferWithAuthorization checked`,
    });
  });

  it('no contract at the network’s USDC address (the RPC is not that network)', async () => {
    const check = await checkWith({});
    expect(check.status).toBe('unusable');
    expect(check.message).toBe(
      'USDC 0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582 on chain 80002 (Polygon Amoy): no contract at that address (USDC_ADDRESS?)',
    );
  });

  it('an ERC20 without EIP-3009', async () => {
    const check = await checkWith({ USDC_ADDRESS: plainErc20 });
    expect(check.status).toBe('unusable');
    expect(check.message).toMatch(/does not implement EIP-3009 as Circle's USDC does: it has no version\(\)/);
  });

  it('a token showing USDC’s domain without transferWithAuthorization', async () => {
    const check = await checkWith({ USDC_ADDRESS: lookalike });
    expect(check.status).toBe('unusable');
    expect(check.message).toMatch(
      /does not accept an EIP-3009 transferWithAuthorization\(.*\) signed over its own domain \(a zero-value one reverted: .*\); funding would fail/,
    );
  });

  it('an RPC serving another chain than CHAIN names', async () => {
    const check = await checkWith({ CHAIN: 'polygon', USDC_ADDRESS: testUsdc });
    expect(check).toMatchObject({
      status: 'unusable',
      message: expect.stringMatching(/^RPC_URL serves chain id 80002, not 137 \(Polygon\)/),
    });
  });

  it('a chain that does not answer: starts anyway, unchecked, no URL in the message', async () => {
    const check = await checkWith({ RPC_URL: 'http://127.0.0.1:9/secret-key' });
    expect(check.status).toBe('unchecked');
    expect(check.message).not.toContain('secret-key');
  });

  it('the worker refuses to start on a USDC without EIP-3009, and says why', async () => {
    const worker = spawnWorker({
      ...stack.env,
      CHAIN: 'polygon-amoy',
      RPC_URL: anvil.url,
      USDC_ADDRESS: lookalike,
      DEPLOYMENT_FILE: path.join(stack.dir, 'none.json'),
      PUBLIC_URL: 'http://localhost:3000',
    });
    const exit = await Promise.race([
      worker.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(worker.output())), 30_000)),
    ]);
    expect(exit.code, worker.output()).toBe(1);
    expect(worker.output()).toContain('refusing to start');
    expect(worker.output()).toContain(`USDC ${lookalike} on chain 80002 (Polygon Amoy) does not accept an EIP-3009`);
  });
});
