import { parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// x402 v1 like the seed's upstream server (JSON 402 without `extra`, X-PAYMENT, recipient in the
// body) on a chain whose id has a v1 name (anvil as 84532 = base-sepolia): the worker supplies
// the EIP-712 domain the 402 leaves out and pays each mint once.

let usdc: Address;

const setup = useX402Setup({
  chainId: 84532,
  env: { MINT_BATCH_SIZE: '4', MINT_INTERVAL_MS: '0', LEASE_MS: '5000', CHECK_INTERVAL_MS: '200' },
  server: { mode: 'v1' },
  workerId: 'x402-v1-test',
});

beforeAll(async () => {
  usdc = setup.server.usdc;
}, 120_000);

describe('x402 worker route, v1 endpoint', () => {
  it('pays a v1 endpoint without extra (domain supplied), recipient in the body, each mint once', async () => {
    const user = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(
      setup.server.mintUrl(),
      user,
      {},
      { chainId: 84532, usdc, maxAmount: parseUnits('1', 6) },
    );
    expect(terms).toMatchObject({
      version: 1,
      method: 'POST',
      mintsToUser: true,
      requirement: { network: 'base-sepolia' },
      domain: { name: 'USD Coin', version: '2' },
    });
    expect(terms.requirement.extra).toBeUndefined();
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 6,
      token: setup.server.tokenAddress,
    });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status).toBe('completed');
    const check = await ledgerVsChain(task.id, setup.server);
    expect(check.settled).toHaveLength(6);
    expect(check.chain.count).toBe(6);
    expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(6n * setup.server.mintAmount);
  });
});
