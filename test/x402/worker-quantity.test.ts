import { erc20Abi, parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import type { X402Terms } from '@/db/schema';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import { runAudit } from '@/lib/audit/run-audit';
import { getPublicClient } from '@/lib/chain/clients';
import { showTaskCommand } from '@/lib/ops/commands';
import type { X402MintMode } from '@/scripts/local/x402-mint/modes';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// Several mints per payment, bought end to end by the in-process worker on real anvil + Postgres
// from the local server, whose POST takes `{quantity, recipient}` and prices price × quantity
// (the seed's upstream shape). Money is counted on chain: the agent's USDC transfers to the
// payee (AuthorizationUsed) and the tokens the user holds.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '10',
    X402_MINTS_PER_PAYMENT: '10',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '3000',
    X402_DELIVERY_TIMEOUT_MS: '4000',
    X402_MAX_AUTHORIZATION_SECONDS: '20',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
  },
  mineEveryMs: 500,
  workerId: 'x402-quantity',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const target = () => ({ chainId: setup.server.chainId, usdc: setup.server.usdc, maxAmount: parseUnits('1', 6) });

async function buy(mode: X402MintMode, quantity: number, overrides: Partial<X402Terms> = {}) {
  const user = newUser();
  const terms = await probeTerms(setup.server.mintUrl(mode), user, overrides, { ...target(), mintsPerPayment: 10 });
  const task = await createFundedX402Task({ userAddress: user, terms, quantity, token: setup.server.tokenAddress });
  const started = performance.now();
  const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 120_000);
  const ms = performance.now() - started;
  const check = await ledgerVsChain(task.id, { usdc: setup.server.usdc, payTo: terms.requirement.payTo as Address });
  const agentUsdc = await balanceOf(setup.server.usdc, done!.agentAddress as Address);
  return { user, terms, task: done!, check, ms, agentUsdc };
}

describe('x402: several mints per payment', () => {
  it('25 mints at up to 10 per payment: 1 + 10 + 10 + 4 authorizations (25 one by one), 25 × price paid exactly, 25 mints held', async () => {
    const price = setup.server.price;
    const bulk = await buy('v2', 25);
    expect(bulk.terms.mintsPerPayment).toEqual({
      max: 10,
      reason: 'scales',
      field: 'quantity',
      asked: 10,
      askedAmount: (10n * price).toString(),
    });
    expect(bulk.task.status, bulk.task.errorMessage ?? '').toBe('completed');
    expect(bulk.task.mintsCompleted).toBe(25);
    // The first payment buys one mint (it proves delivery at the price of one); then 10, 10, the remainder.
    expect(bulk.check.settled.map((r) => [r.sequenceNumber, r.units])).toEqual([
      [1, 1],
      [2, 10],
      [12, 10],
      [22, 4],
    ]);
    expect(bulk.check.rows).toHaveLength(4);
    expect(bulk.check.chain.count).toBe(4);
    expect(new Set(bulk.check.settled.map((r) => r.settlementTxHash))).toEqual(bulk.check.chain.txHashes);
    expect(bulk.check.chain.total).toBe(25n * price);
    expect(bulk.agentUsdc).toBe(0n);
    expect(await balanceOf(setup.server.tokenAddress, bulk.user)).toBe(25n * setup.server.mintAmount);
    const audit = await runAudit({ userAddress: bulk.user, fromBlock: 0n, record: false });
    expect(audit.discrepancies).toEqual([]);
    expect(audit.users[0]!.tasks.find((t) => t.id === bulk.task.id)).toMatchObject({
      x402Settled: 25,
      x402Delivered: 25,
    });
    // The operator's view names each payment by the mints it bought.
    const { text } = await showTaskCommand({ id: bulk.task.id });
    for (const mints of ['2–11', '12–21', '22–25']) expect(text).toMatch(new RegExp(`^\\s*${mints}\\s+settled`, 'm'));

    // The same task one mint per payment, side by side.
    const single = await buy('v2', 25, { mintsPerPayment: { max: 1, reason: 'setting', field: 'quantity' } });
    expect(single.task.status, single.task.errorMessage ?? '').toBe('completed');
    expect(single.check.chain.count).toBe(25);
    expect(single.check.chain.total).toBe(25n * price);
    expect(await balanceOf(setup.server.tokenAddress, single.user)).toBe(25n * setup.server.mintAmount);
    console.log(
      `25 mints: ${bulk.check.chain.count} authorizations at up to 10 per payment vs ${single.check.chain.count} one per payment ` +
        `(${(single.check.chain.count / bulk.check.chain.count).toFixed(2)}×); ${Math.round(bulk.ms)} ms vs ${Math.round(single.ms)} ms`,
    );
  });

  it('a seller that charges for 10 and mints 1: a claim after that one payment, nothing more paid, the rest refundable', async () => {
    const price = setup.server.price;
    const { task, check, user, terms } = await buy('ignores-quantity', 25);
    expect(terms.mintsPerPayment?.max).toBe(10);
    expect(task.status).toBe('failed');
    expect(task.errorMessage).toMatch(/tokens did not arrive/);
    // One mint to see delivery, then the one payment for ten that delivered one: nothing after it.
    expect(check.settled.map((r) => r.units)).toEqual([1, 10]);
    expect(check.rows).toHaveLength(2);
    expect(check.chain.count).toBe(2);
    expect(check.chain.total).toBe(11n * price);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(2n * setup.server.mintAmount);
    const claims = await listX402ClaimsByTask({ taskId: task.id });
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatchObject({
      paymentId: check.settled[1]!.id,
      amount: (10n * price).toString(),
      arrivedAmount: (2n * setup.server.mintAmount).toString(),
      expectedAmount: (11n * setup.server.mintAmount).toString(),
      status: 'open',
    });
    expect(task.mintsCompleted).toBe(2);
    expect(task.mintsFailed).toBe(9);
    // The audit counts in mints too: 11 paid, 2 delivered, the claim beside it.
    const audit = await runAudit({ userAddress: user, fromBlock: 0n, record: false });
    expect(audit.discrepancies).toEqual([]);
    expect(audit.users[0]!.tasks.find((t) => t.id === task.id)).toMatchObject({
      x402Settled: 11,
      x402Delivered: 2,
      x402Undelivered: 9,
    });
    expect(audit.claims.map((c) => [c.taskId, c.sequenceNumber, c.amount])).toEqual([
      [task.id, 2, (10n * price).toString()],
    ]);
    // Never more than quantity × price; what was not paid stays the user's (with the agent, or
    // already refunded: both read at one block, so a refund mined between reads is not counted twice).
    const block = await getPublicClient().getBlockNumber();
    const [agentHolds, userHolds] = await Promise.all(
      [task.agentAddress, user].map((owner) =>
        getPublicClient().readContract({
          address: setup.server.usdc,
          abi: erc20Abi,
          functionName: 'balanceOf',
          args: [owner as Address],
          blockNumber: block,
        }),
      ),
    );
    expect(agentHolds! + userHolds!).toBe(25n * price - 11n * price);
  });

  it('a seller whose price for 10 is not 10 × one: bought one mint per payment', async () => {
    const { task, check, terms, user } = await buy('bulk-discount', 4);
    expect(terms.mintsPerPayment).toMatchObject({ max: 1, reason: 'not_scaling', asked: 10 });
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expect(check.settled.map((r) => r.units)).toEqual([1, 1, 1, 1]);
    expect(check.chain.total).toBe(4n * setup.server.price);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
  });
});
