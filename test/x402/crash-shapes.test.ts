import { parseUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import { getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import type { X402MintMode } from '@/scripts/local/x402-mint/modes';
import { killWorker, spawnWorker, waitForTasks, type WorkerChild } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// kill -9 of the real worker process against sellers that deliver before (or without) settling:
// the worker dies with the first paid answer in hand, before anything is recorded. A fresh
// worker takes over after the lease. Whatever the seller then does with the re-sent payment,
// each authorization moves money at most once, every mint is paid for once (no second
// authorization for any mint), and paid = delivered or a claim record.

const children: WorkerChild[] = [];

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '2',
    MINT_INTERVAL_MS: '0',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '1',
    X402_DELIVERY_TIMEOUT_MS: '6000',
    X402_MAX_AUTHORIZATION_SECONDS: '20',
    LOG_LEVEL: 'warn',
  },
  server: { settleLaterMs: 1500 },
  mineEveryMs: 500,
});

afterAll(async () => {
  for (const c of children) await killWorker(c);
}, 30_000);

async function crashThenFinish(mode: X402MintMode, quantity: number) {
  const user = privateKeyToAccount(generatePrivateKey()).address;
  const terms = await probeTerms(
    setup.server.mintUrl(mode),
    user,
    {},
    { chainId: setup.server.chainId, usdc: setup.server.usdc, maxAmount: parseUnits('1', 6) },
  );
  const task = await createFundedX402Task({ userAddress: user, terms, quantity, token: setup.server.tokenAddress });
  const first = spawnWorker({ ...setup.stack.env, WORKER_CRASH_AT: 'after-broadcast:1' });
  children.push(first);
  const timer = setTimeout(() => first.child.kill('SIGKILL'), 40_000);
  const exit = await first.exited;
  clearTimeout(timer);
  expect(exit.signal).toBe('SIGKILL');
  const last = spawnWorker(setup.stack.env);
  children.push(last);
  const [done] = await waitForTasks([task.id], ['completed', 'failed'], 90_000);
  await killWorker(last);
  const check = await ledgerVsChain(task.id, { usdc: setup.server.usdc, payTo: terms.requirement.payTo as Address });
  const claims = await listX402ClaimsByTask({ taskId: task.id });
  return { user, task: done!, check, claims };
}

describe('x402 worker crashes against sellers that deliver first', () => {
  it(
    'deliver-without-settle: after kill -9 nothing is paid, nothing re-bought, every delivery counted',
    { timeout: 150_000 },
    async () => {
      const { user, task, check, claims } = await crashThenFinish('deliver-without-settle', 4);
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(4);
      // One authorization per mint, none settled (this seller never settles), all dead by chain time.
      expect(check.rows).toHaveLength(4);
      expect(new Set(check.rows.map((r) => r.sequenceNumber)).size).toBe(4);
      expect(check.chain.count).toBe(0);
      expect(check.rows.every((r) => r.status === 'expired')).toBe(true);
      const agentUsdc = await getPublicClient().readContract({
        address: setup.server.usdc,
        abi: testUSDCAbi,
        functionName: 'balanceOf',
        args: [task.agentAddress as Address],
      });
      const userUsdc = await getPublicClient().readContract({
        address: setup.server.usdc,
        abi: testUSDCAbi,
        functionName: 'balanceOf',
        args: [user],
      });
      // All of it still the user's: in the agent wallet, or refunded to the user as the task ended.
      expect(agentUsdc + userUsdc).toBe(check.funding);
      expect(claims).toHaveLength(0);
      // The re-sent payment may be served again (the seller's loss): the user holds at least what was bought.
      expect(await balanceOf(setup.server.tokenAddress, user)).toBeGreaterThanOrEqual(4n * setup.server.mintAmount);
    },
  );

  it('settle-later: after kill -9 each payment settles once, paid = delivered', { timeout: 150_000 }, async () => {
    const { user, task, check, claims } = await crashThenFinish('settle-later', 4);
    expect(task.status, task.errorMessage ?? '').toBe('completed');
    expect(check.chain.count).toBe(4);
    expect(check.settled).toHaveLength(4);
    expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
    expect(new Set(check.settled.map((r) => r.sequenceNumber)).size).toBe(4);
    expect(check.rows).toHaveLength(4);
    expect(check.chain.total).toBe(check.funding);
    expect(claims).toHaveLength(0);
    expect(task.mintsCompleted).toBe(4);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBeGreaterThanOrEqual(4n * setup.server.mintAmount);
  });
});
