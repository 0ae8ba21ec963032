import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { getUsdcBalance } from '@/lib/chain/usdc';
import { user } from '../support/fixtures';
import {
  awaitRefund,
  createFundedTask,
  expectLedgerMatchesChain,
  mintedEvents,
  startMintWorker,
  tokenBalance,
  useWorkerStack,
  waitForTasks,
} from './support';

// In-process worker against real Postgres and anvil: three tasks of three users complete, the
// users (not the agents) receive quantity × mintAmount, and the ledger equals the Minted events.
// MINT_INTERVAL_MS=0 with MINT_PIPELINE_DEPTH=4, so these batches run pipelined (worker/contract/mint-pipeline.ts).

const setup = useWorkerStack({
  env: {
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '0',
    MINT_PIPELINE_DEPTH: '4',
    RECEIPT_TIMEOUT_MS: '5000',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '3',
  },
});

describe('mint worker', () => {
  it('completes three tasks; tokens go to the users; ledger == Minted events', async () => {
    const { readPaidMintToken } = await import('@/lib/chain/tokens');
    const token = setup.stack.deployment.tokens[0]!.address;
    const info = await readPaidMintToken(token);
    const quantities = [12, 7, 16];
    const before = await Promise.all([1, 2, 3].map((i) => tokenBalance(token, user(i).address)));
    const tasks = [];
    for (const [i, quantity] of quantities.entries())
      tasks.push(await createFundedTask(setup.stack, { userIndex: i + 1, quantity }));

    setup.worker = await startMintWorker();
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      60_000,
    );

    for (const [i, task] of done.entries()) {
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(quantities[i]);
      expect(task.completedAt).toBeTruthy();
      expect(task.lockedBy).toBeNull();
      expect(task.recipient).toBeNull(); // no recipient: the mints go to the user
      const after = await tokenBalance(token, user(i + 1).address);
      expect(after - before[i]!).toBe(BigInt(quantities[i]!) * info.mintAmount);
      expect(await tokenBalance(token, task.agentAddress as Address)).toBe(0n);
    }
    const { rows } = await expectLedgerMatchesChain(
      token,
      tasks.map((t) => t.id),
    );
    expect(rows.filter((r) => r.status === 'confirmed')).toHaveLength(12 + 7 + 16);
  }, 90_000);

  it('a cancel stops a pipelined run after the batches already sent; they settle; the rest of the USDC goes back to the user', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    const quantity = 300;
    const task = await createFundedTask(setup.stack, { userIndex: 4, quantity });
    const userBefore = await getUsdcBalance(task.userAddress as Address);
    const deadline = Date.now() + 30_000;
    while (((await getTaskById({ id: task.id }))?.mintsCompleted ?? 0) < 5 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await getSql()`update ai_agent_tasks set cancel_requested = true where id = ${task.id} and status = 'processing'`;
    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 30_000);
    expect(done!.status).toBe('cancelled');
    expect(done!.mintsCompleted).toBeGreaterThan(0);
    expect(done!.mintsCompleted).toBeLessThan(quantity);
    const open =
      await getSql()`select 1 from ai_agent_mint_records where task_id = ${task.id} and status <> 'confirmed'`;
    expect(open).toHaveLength(0);
    const minted = (await mintedEvents(token)).filter((e) => e.args.payer!.toLowerCase() === task.agentAddress);
    expect(minted).toHaveLength(done!.mintsCompleted);
    // What the cancel left unspent goes back to the user, and the agent keeps none.
    await awaitRefund(task.id);
    const unspent = BigInt(task.pricePerMint) * BigInt(quantity - done!.mintsCompleted);
    expect(await getUsdcBalance(task.userAddress as Address)).toBe(userBefore + unspent);
    expect(await getUsdcBalance(task.agentAddress as Address)).toBe(0n);
  }, 60_000);
});
