import path from 'node:path';
import { erc20Abi, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETWORKS, type Network } from '@/lib/chain/networks';
import { deployLocalContracts, fundOperator } from '@/scripts/local/deploy';
import { startTestStack, type TestStack } from '../support/stack';
import { giveUsdc, startNetworkAnvil, useAppEnv } from './support';

// Every network CHAIN takes, each on an anvil of its own under that network's chain id, with
// USDC (EIP-3009 as Circle's) placed at the address the network table names. The app is
// pointed at it as an operator would: CHAIN=<name> and RPC_URL, nothing else about the chain.
// Proved per network: the config resolves (chain id, USDC address), the startup check reads the
// USDC's domain from the chain and proves EIP-3009, the owner's authorization funds a task
// through the fund route, and the worker buys from the local x402 market server under the
// network's x402 id (CAIP-2, and the v1 name where x402 has one), paid exactly once, delivered.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    chain: false,
    env: {
      X402_ALLOWED_HOSTS: '127.0.0.1',
      // Required outside CHAIN=local.
      METRICS_TOKEN: 'networks-test-metrics-token',
      CHECK_INTERVAL_MS: '200',
      LEASE_MS: '5000',
    },
  });
}, 60_000);

afterAll(() => stack?.stop(), 30_000);

const networks = [...NETWORKS.values()];

describe('CHAIN takes every x402 network with an EIP-3009 USDC', () => {
  it('lists the networks the x402 packages know, by name', () => {
    const names = networks.map((n) => n.name);
    for (const name of ['base', 'base-sepolia', 'polygon', 'polygon-amoy', 'arbitrum', 'arbitrum-sepolia'])
      expect(names).toContain(name);
    for (const name of ['avalanche', 'avalanche-fuji', 'optimism', 'optimism-sepolia', 'ethereum', 'sepolia'])
      expect(names).toContain(name);
    expect(NETWORKS.get('base')).toMatchObject({
      chain: { id: 8453 },
      usdc: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
      x402: { network: 'eip155:8453', v1Name: 'base' },
    });
    expect(NETWORKS.get('arbitrum')!.x402).toEqual({ network: 'eip155:42161' });
  });

  it.each(networks.map((n) => [n.name, n] as const))(
    '%s: config, USDC domain from the chain, funding, one x402 purchase per protocol version',
    async (_name, network) => {
      const { anvil, usdc } = await startNetworkAnvil(network);
      try {
        await proveNetwork(network, anvil.url, usdc);
      } finally {
        await anvil.stop();
      }
    },
    120_000,
  );
});

async function proveNetwork(network: Network, rpcUrl: string, usdc: Address) {
  await fundOperator(rpcUrl, stack.operator);
  const { tokens } = await deployLocalContracts(rpcUrl, stack.operator, usdc);
  // No deployment file: the USDC address must come from the network table.
  useAppEnv({
    CHAIN: network.name,
    RPC_URL: rpcUrl,
    DEPLOYMENT_FILE: path.join(stack.dir, 'none.json'),
    USDC_ADDRESS: undefined,
  });
  const { getConfig } = await import('@/lib/config');
  const { getChain, getKnownContracts, getPublicClient } = await import('@/lib/chain/clients');
  const { checkUsdc } = await import('@/lib/startup-check');
  const { getUsdcDomain } = await import('@/lib/chain/usdc');

  expect(getConfig().chain).toBe(network.name);
  expect(getChain().id).toBe(network.chain.id);
  expect(getKnownContracts().usdc).toBe(network.usdc);
  expect(await checkUsdc()).toMatchObject({ status: 'ok' });
  // Read from the chain: TestUSDC says "USD Coin", whatever the package's table says (Base Sepolia's: "USDC").
  expect(await getUsdcDomain()).toEqual({
    name: 'USD Coin',
    version: '2',
    chainId: network.chain.id,
    verifyingContract: usdc,
  });

  // Funding: the owner's EIP-3009 authorization through the fund route, settled on this chain.
  const { createPendingTask } = await import('../support/fixtures');
  const { authorizationFor, signAuthorization } = await import('../support/funding');
  const { postFund } = await import('../funding/helpers');
  const { transitionTask } = await import('@/db/tasks');
  const owner = privateKeyToAccount(generatePrivateKey());
  const task = await createPendingTask({ userAddress: owner.address, token: tokens[0]!.address, quantity: 2 });
  await giveUsdc(rpcUrl, usdc, owner.address, BigInt(task.totalCost));
  const authorization = authorizationFor(task);
  const res = await postFund(task.id, { authorization, signature: await signAuthorization(owner, authorization) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const receipt = await getPublicClient().getTransactionReceipt({ hash: res.body.txHash });
  expect(receipt.status).toBe('success');
  expect(await tokenBalance(usdc, task.agentAddress as Address)).toBe(BigInt(task.totalCost));
  // The worker below buys x402 only: this contract task leaves the queue.
  await transitionTask({ id: task.id, from: 'funded', to: 'cancelled' });

  await buyFromX402Market(network, rpcUrl, usdc);
}

/** One paid mint per x402 version the network has a name for, bought by the worker from the local market server. */
async function buyFromX402Market(network: Network, rpcUrl: string, usdc: Address) {
  const { startX402MintServer } = await import('@/scripts/local/x402-mint-server');
  const { probeTerms, createFundedX402Task } = await import('../support/x402');
  const { startMintWorker } = await import('../support/worker');
  const { waitForTasks } = await import('../worker/support');
  const { ledgerVsChain } = await import('../x402/support');
  const server = await startX402MintServer({ rpcUrl, usdc, settlers: 1 });
  const worker = await startMintWorker({ id: `networks-${network.name}` });
  try {
    const offers: { url: string; network: string }[] = [{ url: server.mintUrl(), network: network.x402.network }];
    if (network.x402.v1Name) offers.push({ url: server.mintUrl('v1'), network: network.x402.v1Name });
    // A buyer (so an agent wallet) per offer: each task's payments are counted on chain alone.
    const tasks = [];
    for (const offer of offers) {
      const buyer = privateKeyToAccount(generatePrivateKey()).address;
      const terms = await probeTerms(offer.url, buyer);
      expect(terms.requirement.network).toBe(offer.network);
      tasks.push(await createFundedX402Task({ userAddress: buyer, terms, quantity: 1, token: server.tokenAddress }));
    }
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      30_000,
    );
    for (const t of done) {
      expect(t.status, t.errorMessage ?? '').toBe('completed');
      const check = await ledgerVsChain(t.id, server);
      expect(check.settled).toHaveLength(1);
      expect(check.chain).toMatchObject({ count: 1, total: server.price });
      expect(await tokenBalance(server.tokenAddress, t.userAddress as Address)).toBe(server.mintAmount);
    }
  } finally {
    await worker.stop();
    await server.stop();
  }
}

async function tokenBalance(token: Address, account: Address) {
  const { getPublicClient } = await import('@/lib/chain/clients');
  return getPublicClient().readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [account] });
}
