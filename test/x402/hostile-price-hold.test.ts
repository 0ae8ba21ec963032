import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, operatorTxCount, probeTerms, useX402Setup } from './support';

// A seller that sells the first mint honestly, then raises its price, holds the other paid
// requests and settles them later, after the buyer gave up (issue 22, fourth row: the task
// failed, then the seller settled 9 of the 10 authorizations it held: 0.9 USDC, nothing
// delivered). Now no authorization of an ended task can be settled: the task ends only when each
// is settled (while it still runs: a claim), cancelled on chain, or expired by chain time; and
// delivery proof keeps them few (one batch after the first delivered mint).

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_DELIVERY_TIMEOUT_MS: '3000',
    X402_MAX_AUTHORIZATION_SECONDS: '30',
  },
  mineEveryMs: 500,
  workerId: 'x402-price-hold',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function priceHoldTask(timing: { holdMs: number; settleLaterMs: number }) {
  setup.server.resetPriceHold(timing);
  const user = newUser();
  const terms = await probeTerms(setup.server.mintUrl('price-hold'), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 10, token: setup.server.tokenAddress });
  return { user, task };
}

describe('a seller that raises its price, holds the paid requests and settles them later', () => {
  it('answers the held requests 402 at the new price: the task fails, cancels the held authorizations, and the later settlements fail', async () => {
    const operatorBefore = await operatorTxCount(setup.stack.operator);
    const lateBefore = { ok: setup.server.stats.lateSettled, failed: setup.server.stats.lateSettleFailed };
    const { user, task } = await priceHoldTask({ holdMs: 800, settleLaterMs: 5000 });
    const [done] = await waitForTasks([task.id], ['failed', 'completed'], 30_000);
    expect(done!.status).toBe('failed');
    expect(done!.errorMessage).toMatch(/now asks 20000 base units per mint, more than the 10000 probed/);

    // The seller now tries to settle what it held, after the task ended: every attempt fails.
    await sleep(6000);
    const held = setup.server.stats.lateSettleFailed - lateBefore.failed;
    expect(setup.server.stats.lateSettled - lateBefore.ok).toBe(0);
    expect(held).toBe(3); // one batch after the first delivered mint
    const check = await ledgerVsChain(task.id, setup.server);
    expect(check.chain.count).toBe(1);
    expect(check.settled).toHaveLength(1);
    expect(check.rows.filter((r) => r.status === 'cancelled')).toHaveLength(3);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(setup.server.mintAmount);
    const operatorTxs = (await operatorTxCount(setup.stack.operator)) - operatorBefore;
    console.log(
      `price-hold (402 after the hold): paid 1, delivered 1, ${held} held authorizations cancelled by ${operatorTxs} operator transactions; settled by the seller after the end: 0`,
    );
    expect(operatorTxs).toBe(3);
  });

  it('holds past the buyer’s timeout and settles while the task waits: each is a claim, none is settled after the task ended', async () => {
    const { user, task } = await priceHoldTask({ holdMs: 20_000, settleLaterMs: 2500 });
    const [done] = await waitForTasks([task.id], ['failed', 'completed'], 40_000);
    expect(done!.status).toBe('failed');
    const lateAtEnd = setup.server.stats.lateSettled;
    await sleep(4000);
    // Nothing the seller settled after the end: the chain holds exactly what the ledger settled.
    expect(setup.server.stats.lateSettled).toBe(lateAtEnd);
    const check = await ledgerVsChain(task.id, setup.server);
    expect(check.chain.count).toBe(check.settled.length);
    expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
    expect(check.rows.filter((r) => r.status === 'signed' || r.status === 'sent')).toHaveLength(0);
    // The first mint was delivered; every other settled payment is a claim (at most one batch).
    const claims = await listX402ClaimsByTask({ taskId: task.id });
    expect(claims.length).toBe(check.settled.length - 1);
    expect(claims.length).toBeLessThanOrEqual(3);
    expect(done!.mintsCompleted).toBe(1);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(setup.server.mintAmount);
    expect(check.chain.total).toBe(BigInt(check.settled.length) * 10_000n);
    expect(await balanceOf(setup.server.usdc, task.agentAddress as Address)).toBe(
      BigInt(task.totalCost) - check.chain.total,
    );
  });
});
