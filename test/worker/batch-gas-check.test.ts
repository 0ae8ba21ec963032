import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { getPublicClient } from '@/lib/chain/clients';
import { chainClients } from '../contracts/chain-helpers';
import { createFundedTask, expectLedgerMatchesChain, useWorkerStack, waitForTasks } from './support';

// Found by review: before a paced EIP-7702 batch the worker checked the agent's ETH against
// gasPerMint × (N + 1), gasPerMint being the batch estimate's marginal share of a mint, while the
// batch is signed with base + N × perMint (base a whole [approval, mint] call). An agent between
// the two got no top-up, the broadcast was refused for want of ETH (gas_funds), every later
// turn's reconcile rebroadcast it and met the same refusal, and the task failed. AGENT_TOPUP_ETH=0
// tops up to exactly what the check asks for, so the check alone decides: here the agent's ETH is
// taken away after the first batch, and the second batch's top-up must pay for that batch.

const setup = useWorkerStack({
  env: {
    MINT_EXECUTION: 'batch',
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '1500',
    AGENT_TOPUP_ETH: '0',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
    LOG_LEVEL: 'silent',
  },
  startWorker: true,
});

const topUps = (taskId: string) =>
  getSql()<{ amountWei: string }[]>`
    select amount_wei::text as "amountWei" from agent_gas_topups where task_id = ${taskId} order by id`;

describe('the gas check before a paced batch', () => {
  it('tops the agent up to what the batch is signed with, not to gasPerMint × (N + 1)', async () => {
    const task = await createFundedTask(setup.stack, { userIndex: 2, quantity: 10 });
    const agent = task.agentAddress as Address;
    // The first batch (5 mints) settles; the worker then waits MINT_INTERVAL_MS before the next.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const current = (await getTaskById({ id: task.id }))!;
      if (current.mintsCompleted >= 5) break;
      if (current.status !== 'processing' && current.status !== 'funded')
        throw new Error(`task ${current.status}: ${current.errorMessage}`);
      if (Date.now() > deadline) throw new Error('first batch not settled in 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The agent's ETH goes (as if the batches had burnt it): the next batch needs a top-up.
    await chainClients(setup.stack.anvil.url).rpc('anvil_setBalance', [agent, '0x0']);
    expect(await getPublicClient().getBalance({ address: agent })).toBe(0n);

    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(10);
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
    // One top-up before the first batch, one after the ETH was taken.
    expect((await topUps(task.id)).length).toBe(2);
  }, 90_000);
});
