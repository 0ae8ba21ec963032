import { parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import { getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import type { X402MintMode } from '@/scripts/local/x402-mint/modes';
import type { StatusReport } from '@/worker/x402/status-route';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// Every seller shape in the wild (shared/DESIGN.md), played by the local server and bought by the
// in-process worker on real anvil + Postgres (v1-only shapes speak v2 on a chain without a v1 name):
// bought exactly once with the tokens at the user, or stopped before money moves. Money is
// counted on chain: USDC the agent paid (AuthorizationUsed transfers) and tokens the user holds.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    X402_DELIVERY_TIMEOUT_MS: '4000',
    X402_MAX_AUTHORIZATION_SECONDS: '20',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
  },
  server: { slowMs: 3000, settleLaterMs: 1500, soldOutAfter: 2, every: 2 },
  mineEveryMs: 500,
  workerId: 'x402-shapes',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const target = () => ({ chainId: setup.server.chainId, usdc: setup.server.usdc, maxAmount: parseUnits('1', 6) });

async function buy(mode: X402MintMode, quantity: number, url = setup.server.mintUrl(mode)) {
  const user = newUser();
  const terms = await probeTerms(url, user, {}, target());
  const task = await createFundedX402Task({ userAddress: user, terms, quantity, token: setup.server.tokenAddress });
  const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 90_000);
  const payee = { usdc: setup.server.usdc, payTo: terms.requirement.payTo as Address };
  return { user, terms, task: done!, check: await ledgerVsChain(task.id, payee) };
}

/** `blockNumber`: several balances read at one block, so a transfer mined between the reads is not counted twice. */
const usdcOf = (owner: string, blockNumber?: bigint) =>
  getPublicClient().readContract({
    address: setup.server.usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [owner as Address],
    blockNumber,
  });

/** Bought exactly once: the chain's payments = the settled rows (same transactions), none twice; no authorization live. */
function expectPaidOnce(check: Awaited<ReturnType<typeof ledgerVsChain>>, paid: number) {
  expect(check.chain.count).toBe(paid);
  expect(check.settled).toHaveLength(paid);
  expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
  expect(new Set(check.settled.map((r) => r.sequenceNumber)).size).toBe(paid);
  expect(check.rows.filter((r) => r.status === 'signed' || r.status === 'sent')).toHaveLength(0);
}

describe('x402 seller shapes, bought end to end', () => {
  it('GET-only (POST gets "Cannot POST"): bought by GET, minted to the agent, forwarded to the user', async () => {
    const { user, task, check } = await buy('get-only', 4);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
    expect(await balanceOf(setup.server.tokenAddress, task.agentAddress as Address)).toBe(0n);
  });

  it('extra naming another EIP-712 domain: signed for the asset’s own, every payment verifies, none refused', async () => {
    const { user, task, check, terms } = await buy('foreign-domain', 4);
    expect(terms.advertisedDomain?.name).toBe('X4D Mint');
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 4);
    expect(check.rows).toHaveLength(4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
  });

  it('extra {contract, outPerMint}, payTo a hot wallet: the token from extra, paid to the wallet, forwarded', async () => {
    const { user, task, check, terms } = await buy('extra-contract', 3);
    expect(terms.requirement.payTo).toBe(setup.server.hotWallet);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 3);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(3n * setup.server.mintAmount);
  });

  it(
    'delivers without settling: each delivery counted, nothing re-paid, authorizations reserved until they expire by chain time',
    { timeout: 120_000 },
    async () => {
      const paidBefore = setup.server.stats.paid;
      const { user, task, check } = await buy('deliver-without-settle', 4);
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(4);
      // One paid request per mint, never a second; no USDC moved; the tokens are the user's.
      expect(setup.server.stats.paid - paidBefore).toBe(4);
      expect(check.rows).toHaveLength(4);
      expect(check.chain.count).toBe(0);
      // All of it still the user's: in the agent wallet, or refunded to the user as the task ended
      // (read at one block: the refund may be mined between two reads).
      const block = await getPublicClient().getBlockNumber({ cacheTime: 0 });
      expect((await usdcOf(task.agentAddress, block)) + (await usdcOf(user, block))).toBe(check.funding);
      expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
      // The task ended only once none of them could move money: each expired by chain time, none cancelled.
      expect(check.rows.map((r) => r.status)).toEqual(['expired', 'expired', 'expired', 'expired']);
      const latest = await getPublicClient().getBlock({ blockTag: 'latest' });
      for (const r of check.rows) expect(BigInt(r.authorization.validBefore!)).toBeLessThanOrEqual(latest.timestamp);
    },
  );

  it('settles later (after answering 200 and minting): each payment settled once, paid = delivered', async () => {
    const { user, task, check } = await buy('settle-later', 4);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
  });

  it('settles then answers "Sold out": the task stops with a claim per undelivered payment, no more paid', async () => {
    const { user, task, check } = await buy('sold-out', 8);
    expect(task.status).toBe('failed');
    const claims = await listX402ClaimsByTask({ taskId: task.id });
    const delivered = (await balanceOf(setup.server.tokenAddress, user)) / setup.server.mintAmount;
    // paid = delivered + claims, on chain; at most one window past the first delivery.
    expect(BigInt(check.chain.count)).toBe(delivered + BigInt(claims.length));
    expect(claims.length).toBeGreaterThan(0);
    expect(check.chain.count).toBeLessThanOrEqual(1 + 3);
    expect(claims.every((c) => c.httpStatus === 410)).toBe(true);
  });

  it('wants a transaction hash as payment: stopped at the first refusal, saying so; nothing moves', async () => {
    const { task, check } = await buy('hash-as-payment', 3);
    expect(task.status).toBe('failed');
    expect(task.errorMessage).toMatch(/transaction hash as payment/);
    expect(check.rows).toHaveLength(1);
    expect(check.chain.count).toBe(0);
    expect(check.rows[0]!.status).toMatch(/cancelled|expired/);
  });

  it('payment-identifier: a re-sent payment is the same purchase (one mint each), where a seller without it mints again', async () => {
    const minted = () => setup.server.stats.minted;
    const before = minted();
    const honoured = await buy('payment-id', 4);
    const withId = minted() - before;
    const replays = setup.server.stats.idempotentReplays;
    const middle = minted();
    const ignored = await buy('no-payment-id', 4);
    const withoutId = minted() - middle;
    // Measured side by side: mints the seller made per mint bought.
    console.log(`payment-identifier: ${withId / 4} mints per purchase with it, ${withoutId / 4} without`);
    expect(honoured.task.status, honoured.task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(honoured.check, 4);
    expect(withId).toBe(4);
    expect(replays).toBeGreaterThan(0);
    expect(await balanceOf(setup.server.tokenAddress, honoured.user)).toBe(4n * setup.server.mintAmount);
    // The seller without it served re-sends again (its loss; the buyer still paid each mint once).
    expectPaidOnce(ignored.check, 4);
    expect(withoutId).toBeGreaterThan(4);
  });

  it('200 = queued: the status route is polled until minted; the task completes with every token on chain', async () => {
    const reads = setup.server.stats.statusReads;
    const { user, task, check } = await buy('queued', 4);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(4n * setup.server.mintAmount);
    expect(setup.server.stats.statusReads - reads).toBeGreaterThanOrEqual(4);
    const said = await statusReportsOf(task.id);
    expect(said.map((r) => r?.said)).toEqual(['minted', 'minted', 'minted', 'minted']);
    expect(said.every((r) => r!.url.startsWith(`${setup.server.url}/api/queue/`))).toBe(true);
  });

  it('200 = queued, then the status route says failed: the task stops at that payment with a claim, nothing more paid', async () => {
    const minted = setup.server.stats.minted;
    const { user, task, check } = await buy('queued-fails', 3);
    expect(task.status).toBe('failed');
    expect(task.errorMessage).toMatch(/status route .* says the mint failed/);
    expectPaidOnce(check, 1);
    expect(setup.server.stats.minted).toBe(minted);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(0n);
    expect(await listX402ClaimsByTask({ taskId: task.id })).toHaveLength(1);
    expect((await statusReportsOf(task.id)).map((r) => r?.said)).toEqual(['failed']);
  });

  it('200 = queued with a status route on another origin: not followed; delivery still counted from the chain', async () => {
    const reads = setup.server.stats.statusReads;
    const { user, task, check } = await buy('queued-elsewhere', 2);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expectPaidOnce(check, 2);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(2n * setup.server.mintAmount);
    expect(setup.server.stats.statusReads).toBe(reads);
    const said = await statusReportsOf(task.id);
    expect(said.map((r) => r?.said)).toEqual(['refused', 'refused']);
    expect(said[0]!.url).toMatch(/^http:\/\/localhost:/);
  });
});

/** What each payment's status route said, as its ledger row keeps it (sequence order). */
async function statusReportsOf(taskId: string) {
  const rows = await getSql()<Array<{ response: { statusRoute?: StatusReport } | null }>>`
    select response from ai_agent_x402_payments where task_id = ${taskId} order by sequence_number`;
  return rows.map((r) => r.response?.statusRoute);
}
