import path from 'node:path';
import { createPublicClient, createWalletClient, http, parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDeployment } from '@/lib/chain/deployment';
import { deployTestUsdc } from '@/lib/chain/deploy';
import { anvilAccount, startAnvil, type Anvil } from '@/scripts/local/anvil';
import { freePort } from '@/scripts/local/ports';
import type { X402MintServer } from '@/scripts/local/x402-mint-server';
import type { MintWorker } from '@/worker/loop';
import { startTestStack, type TestStack } from '../support/stack';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms } from './support';

// x402 v1 like the seed's upstream server (JSON 402 without `extra`, X-PAYMENT, recipient in the
// body) on a chain whose id has a v1 name (anvil as 84532 = base-sepolia): the worker supplies
// the EIP-712 domain the 402 leaves out and pays each mint once.

let anvil: Anvil;
let stack: TestStack;
let server: X402MintServer;
let worker: MintWorker;
let usdc: Address;

beforeAll(async () => {
  anvil = await startAnvil({ port: await freePort(), chainId: 84532 });
  const chain = { id: 84532, name: 'base-sepolia (anvil)', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.url] } } };
  const publicClient = createPublicClient({ chain, transport: http(anvil.url), pollingInterval: 20 });
  usdc = await deployTestUsdc(createWalletClient({ account: anvilAccount(0), chain, transport: http(anvil.url) }), publicClient as never);
  stack = await startTestStack({ chain: false, env: { RPC_URL: anvil.url, MINT_BATCH_SIZE: '4', MINT_INTERVAL_MS: '0', X402_ALLOWED_HOSTS: '127.0.0.1', LEASE_MS: '5000', CHECK_INTERVAL_MS: '200' } });
  const deploymentFile = path.join(stack.dir, 'deployment.json');
  writeDeployment(deploymentFile, { chainId: 84532, usdc, tokens: [], deployedAt: new Date().toISOString() });
  process.env.DEPLOYMENT_FILE = deploymentFile;
  const { startX402MintServer } = await import('@/scripts/local/x402-mint-server');
  server = await startX402MintServer({ rpcUrl: anvil.url, usdc, mode: 'v1' });
  const { MintWorker } = await import('@/worker/loop');
  worker = new MintWorker({ id: 'x402-v1-test' });
  await worker.start();
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await server?.stop();
  await stack?.stop();
  await anvil?.stop();
}, 30_000);

describe('x402 worker route, v1 endpoint', () => {
  it('pays a v1 endpoint without extra (domain supplied), recipient in the body, each mint once', async () => {
    const user = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(server.mintUrl(), user, {}, { chainId: 84532, usdc, maxAmount: parseUnits('1', 6) });
    expect(terms).toMatchObject({ version: 1, method: 'POST', mintsToUser: true, requirement: { network: 'base-sepolia' }, domain: { name: 'USD Coin', version: '2' } });
    expect(terms.requirement.extra).toBeUndefined();
    const task = await createFundedX402Task({ userAddress: user, terms, quantity: 6, token: server.tokenAddress });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status).toBe('completed');
    const check = await ledgerVsChain(task.id, server);
    expect(check.settled).toHaveLength(6);
    expect(check.chain.count).toBe(6);
    expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
    expect(await balanceOf(server.tokenAddress, user)).toBe(6n * server.mintAmount);
  });
});
