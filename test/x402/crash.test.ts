import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { killWorker, spawnWorker, waitForTasks, type WorkerChild } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// The real worker process is SIGKILLed with an x402 payment written and sent but its answer not
// yet recorded (the endpoint has settled it), and once right after a ledger write (signed, never
// sent). A fresh worker takes over after the lease: it re-sends open payments as they are, the
// chain says which were used, and nothing is paid twice: authorizations settled on chain =
// mints recorded = tokens forwarded.

const children: WorkerChild[] = [];

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'warn',
  },
});

afterAll(async () => {
  for (const c of children) await killWorker(c);
}, 30_000);

async function runUntilExit(env: Record<string, string>, timeoutMs = 40_000) {
  const worker = spawnWorker({ ...setup.stack.env, ...env });
  children.push(worker);
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), timeoutMs);
  const exit = await worker.exited;
  clearTimeout(timer);
  return { ...exit, output: worker.output() };
}

/** A fresh worker with no crash point takes the task over after the lease and runs it to its end. */
async function finishWithFreshWorker(taskId: string) {
  const last = spawnWorker(setup.stack.env);
  children.push(last);
  const [done] = await waitForTasks([taskId], ['completed', 'failed'], 60_000);
  await killWorker(last);
  expect(done!.status, done!.errorMessage ?? '').toBe('completed');
  return done!;
}

describe('x402 worker crashes', () => {
  it(
    'kill -9 with payments sent but answers unread, and after a ledger write; restart pays nothing twice',
    { timeout: 150_000 },
    async () => {
      const user = privateKeyToAccount(generatePrivateKey()).address;
      // The endpoint mints to the payer, so forwarding is covered too.
      const terms = await probeTerms(setup.server.mintUrl(), user, {
        method: 'GET',
        body: undefined,
        mintsToUser: false,
      });
      const task = await createFundedX402Task({
        userAddress: user,
        terms,
        quantity: 8,
        token: setup.server.tokenAddress,
      });

      const first = await runUntilExit({ WORKER_CRASH_AT: 'after-broadcast:1' });
      expect(first.signal).toBe('SIGKILL');
      let rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.filter((r) => r.status === 'sent').length).toBeGreaterThan(0);
      let check = await ledgerVsChain(task.id, setup.server);
      // The endpoint settled at least the payment whose answer was in hand; the ledger does not know yet.
      expect(check.chain.count).toBeGreaterThan(check.settled.length);

      const second = await runUntilExit({ WORKER_CRASH_AT: 'after-ledger-write:2' });
      expect(second.signal).toBe('SIGKILL');
      rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.some((r) => r.status === 'signed')).toBe(true);

      const done = await finishWithFreshWorker(task.id);

      check = await ledgerVsChain(task.id, setup.server);
      expect(check.chain.count).toBe(8);
      expect(check.settled).toHaveLength(8);
      expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
      expect(new Set(check.settled.map((r) => r.sequenceNumber)).size).toBe(8);
      expect(check.chain.total).toBeLessThanOrEqual(check.funding);
      expect(done.mintsCompleted).toBe(8);
      expect(await balanceOf(setup.server.tokenAddress, user)).toBe(8n * setup.server.mintAmount);
      expect(await balanceOf(setup.server.tokenAddress, done.agentAddress as Address)).toBe(0n);
    },
  );

  it(
    'several mints per payment: kill -9 with a 3-mint payment sent but its answer unread, and after a ledger write; restart pays each mint once',
    { timeout: 150_000 },
    async () => {
      const user = privateKeyToAccount(generatePrivateKey()).address;
      // POST {quantity, recipient}, priced per quantity: up to MINT_BATCH_SIZE (3) mints a payment.
      const terms = await probeTerms(setup.server.mintUrl(), user, {}, { mintsPerPayment: 3 });
      expect(terms.mintsPerPayment?.max).toBe(3);
      const task = await createFundedX402Task({
        userAddress: user,
        terms,
        quantity: 8,
        token: setup.server.tokenAddress,
      });

      // The second payment is the first that buys several mints (the first buys one, to prove delivery).
      const first = await runUntilExit({ WORKER_CRASH_AT: 'after-broadcast:2' });
      expect(first.signal).toBe('SIGKILL');
      let rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.find((r) => r.status === 'sent')?.units).toBe(3);

      const second = await runUntilExit({ WORKER_CRASH_AT: 'after-ledger-write:1' });
      expect(second.signal).toBe('SIGKILL');
      rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.some((r) => r.status === 'signed')).toBe(true);

      const done = await finishWithFreshWorker(task.id);

      // Every mint paid once: the settled rows' units sum to 8, the chain moved exactly 8 × price
      // in as many transfers as settled rows, and the user holds 8 mints' tokens.
      const check = await ledgerVsChain(task.id, setup.server);
      expect(check.settled.reduce((sum, r) => sum + r.units, 0)).toBe(8);
      expect(check.chain.count).toBe(check.settled.length);
      expect(new Set(check.settled.map((r) => r.settlementTxHash))).toEqual(check.chain.txHashes);
      expect(check.chain.total).toBe(8n * BigInt(terms.requirement.amount));
      expect(done.mintsCompleted).toBe(8);
      expect(await balanceOf(setup.server.tokenAddress, user)).toBe(8n * setup.server.mintAmount);
    },
  );
});
