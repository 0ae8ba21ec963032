import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { POST as cancelPOST } from '@/app/api/ai-agent/task/[taskId]/cancel/route';
import { getSql } from '@/db/client';
import { listX402ClaimsByTask } from '@/db/x402-claims';
import type { StatusReport } from '@/worker/x402/status-route';
import { call, cookieFor } from '../support/routes';
import { waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, settledOnChain, useX402Setup } from './support';

// A "200 = queued" seller whose status route says "pending" for ever (and never mints): the
// buyer's polling is bounded (X402_DELIVERY_TIMEOUT_MS in all, reads at least 0.5 s apart) and a
// cancel ends it at once; the one settled payment becomes a claim, nothing more is paid.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    X402_DELIVERY_TIMEOUT_MS: '12000',
    X402_MAX_AUTHORIZATION_SECONDS: '60',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '0',
  },
  workerId: 'x402-queued-status',
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

async function stuckTask() {
  const user = newUser();
  const terms = await probeTerms(setup.server.mintUrl('queued-stuck'), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 3, token: setup.server.tokenAddress });
  return { user, terms, task };
}

async function statusReportsOf(taskId: string) {
  const rows = await getSql()<Array<{ response: { statusRoute?: StatusReport } | null }>>`
    select response from ai_agent_x402_payments where task_id = ${taskId} order by sequence_number`;
  return rows.map((r) => r.response?.statusRoute);
}

describe('a queued seller whose status route never resolves', () => {
  it(
    'is polled a bounded number of times; the task stops with one payment and a claim',
    { timeout: 60_000 },
    async () => {
      const reads = setup.server.stats.statusReads;
      const started = Date.now();
      const { task } = await stuckTask();
      const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 50_000);
      const seconds = (Date.now() - started) / 1000;
      console.log(`status route pending for ever: task failed ${seconds.toFixed(1)} s after it was funded`);
      expect(done!.status).toBe('failed');
      // The delivery timeout (12 s) counts from the settlement, not from the end of the polling (24 s before).
      expect(seconds).toBeLessThan(18);
      // 12 s at 0.5 s, 1 s, then 2 s apart: 7 reads at most.
      const polled = setup.server.stats.statusReads - reads;
      expect(polled).toBeGreaterThanOrEqual(3);
      expect(polled).toBeLessThanOrEqual(7);
      expect((await statusReportsOf(task.id)).map((r) => r?.said)).toEqual(['pending']);
      const chain = await settledOnChain(setup.server.usdc, done!.agentAddress as `0x${string}`, setup.server.payTo);
      expect(chain.count).toBe(1);
      expect(await listX402ClaimsByTask({ taskId: task.id })).toHaveLength(1);
    },
  );

  it('a cancel stops the polling at once', { timeout: 60_000 }, async () => {
    const { user, task } = await stuckTask();
    const reads = setup.server.stats.statusReads;
    while (setup.server.stats.statusReads === reads) await sleep(50);
    const cancel = await call(
      cancelPOST,
      `/api/ai-agent/task/${task.id}/cancel`,
      { taskId: task.id },
      { cookie: cookieFor(user), method: 'POST' },
    );
    expect(cancel.status).toBe(200);
    await sleep(300);
    const afterCancel = setup.server.stats.statusReads;
    // Uncancelled, the route would be read again within 2 s (and for 12 s in all).
    await sleep(4000);
    console.log(`status reads after cancel: ${setup.server.stats.statusReads - afterCancel} in 4 s`);
    expect(setup.server.stats.statusReads).toBe(afterCancel);
    const [done] = await waitForTasks([task.id], ['cancelled', 'failed', 'completed'], 40_000);
    expect(done!.status).toBe('cancelled');
  });
});
