import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// The x402 route end to end on real anvil + Postgres + the local x402 mint server (official
// @x402 packages): the in-process worker pays each mint exactly once, whatever the endpoint
// does, and the tokens end with the user. Every test checks the ledger against the chain.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
  },
  server: { slowMs: 3000, queueDelayMs: 1500, every: 2 },
  workerId: 'x402-test',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

async function runTask(
  url: string,
  quantity: number,
  overrides: Parameters<typeof probeTerms>[2] = {},
  statuses = ['completed'],
) {
  const user = newUser();
  const terms = await probeTerms(url, user, overrides);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity, token: setup.server.tokenAddress });
  const [done] = await waitForTasks([task.id], statuses.concat(statuses.includes('failed') ? [] : ['failed']), 60_000);
  return { user, task: done!, check: await ledgerVsChain(task.id, setup.server) };
}

/** Exactly once: settled rows = the chain's payments (same transactions), none twice, within funding. */
function expectPaidOnce(check: Awaited<ReturnType<typeof ledgerVsChain>>, paid: number) {
  expect(check.settled).toHaveLength(paid);
  expect(check.chain.count).toBe(paid);
  expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
  expect(new Set(check.settled.map((r) => r.sequenceNumber)).size).toBe(paid);
  expect(check.chain.total).toBeLessThanOrEqual(check.funding);
  expect(check.rows.filter((r) => r.status === 'signed' || r.status === 'sent')).toHaveLength(0);
}

describe('x402 worker route', () => {
  it('v2, endpoint mints to the recipient it is given: every mint paid once, tokens with the user', async () => {
    const { user, task, check } = await runTask(setup.server.mintUrl(), 7);
    expect(task.status).toBe('completed');
    expect(task.mintsCompleted).toBe(7);
    expectPaidOnce(check, 7);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(7n * setup.server.mintAmount);
  });

  it('v2, endpoint mints to the payer: the agent forwards what it received and is left with none', async () => {
    const { user, task, check } = await runTask(setup.server.mintUrl(), 5, {
      method: 'GET',
      body: undefined,
      mintsToUser: false,
    });
    expect(task.status).toBe('completed');
    expectPaidOnce(check, 5);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(5n * setup.server.mintAmount);
    expect(await balanceOf(setup.server.tokenAddress, task.agentAddress as Address)).toBe(0n);
  });

  it('429 bursts: waits as told (Retry-After or "wait N seconds"), re-sends the same payment, counts no failure', async () => {
    const limitedBefore = setup.server.stats.rateLimited;
    const { task, check } = await runTask(setup.server.mintUrl('rate-limit'), 5);
    expect(task.status).toBe('completed');
    expect(task.mintsFailed).toBe(0);
    expect(setup.server.stats.rateLimited - limitedBefore).toBeGreaterThanOrEqual(2);
    expectPaidOnce(check, 5);
  });

  it('settle then 500: the chain says paid, the mint counts, nothing is paid again', async () => {
    const { user, task, check } = await runTask(setup.server.mintUrl('settle-then-500'), 4);
    expect(task.status).toBe('completed');
    expectPaidOnce(check, 4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
  });

  it('answer after the client timeout: resolved from the chain, never paid twice', async () => {
    const { task, check } = await runTask(setup.server.mintUrl('slow'), 3);
    expect(task.status).toBe('completed');
    expectPaidOnce(check, 3);
  });

  it('queued (200 pending, tokens later) to the payer: late tokens are forwarded before the task completes', async () => {
    const { user, task, check } = await runTask(setup.server.mintUrl('queued'), 3, {
      method: 'GET',
      body: undefined,
      mintsToUser: false,
    });
    expect(task.status).toBe('completed');
    expectPaidOnce(check, 3);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(3n * setup.server.mintAmount);
  });

  it('a price above the probed one: the task fails saying so, and nothing is paid', async () => {
    const { task, check } = await runTask(setup.server.mintUrl('price-rise'), 3, {}, ['failed']);
    expect(task.status).toBe('failed');
    expect(task.errorMessage).toMatch(/more than the 10000 probed/);
    expect(check.chain.count).toBe(0);
    expect(check.rows.every((r) => r.status === 'cancelled')).toBe(true);
  });
});
