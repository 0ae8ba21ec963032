import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getPublicClient } from '@/lib/chain/clients';
import { chainClients } from '../contracts/chain-helpers';
import {
  createFundedTask,
  expectLedgerMatchesChain,
  spawnWorker,
  startMintWorker,
  useWorkerStack,
  waitForTasks,
} from './support';

// Found by review: a batch written to the ledger whose broadcast the node refuses for want of
// ETH (gas_funds) is sent again by every later turn's reconcile, before that turn's batch could
// top the agent up, and meets the same refusal until the task fails: the user's USDC held by a
// failed task. Here a worker is killed between the ledger write and the broadcast, the agent's
// ETH is taken, and the next worker's reconcile must top it up and get the batch mined.

const setup = useWorkerStack({
  env: {
    MINT_EXECUTION: 'batch',
    MINT_BATCH_SIZE: '2',
    MINT_INTERVAL_MS: '500',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
    LOG_LEVEL: 'silent',
  },
});

describe('reconciling a batch the node refused for want of ETH', () => {
  it('tops the agent up for the open batch, which is then mined, and the task completes', async () => {
    const task = await createFundedTask(setup.stack, { userIndex: 3, quantity: 4 });
    const agent = task.agentAddress as Address;
    const child = spawnWorker({ ...setup.stack.env, WORKER_CONCURRENCY: '1', WORKER_CRASH_AT: 'after-ledger-write' });
    setup.children.push(child);
    const timer = setTimeout(() => child.child.kill('SIGTERM'), 40_000);
    const exit = await child.exited;
    clearTimeout(timer);
    expect(exit.signal, child.output()).toBe('SIGKILL');
    // The first batch is in the ledger, signed and never sent; the agent was topped up for it.
    const open = await getSql()<{ status: string }[]>`
      select status from ai_agent_mint_records where task_id = ${task.id} and status in ('signed', 'sent')`;
    expect(open).toHaveLength(2);
    expect(await getPublicClient().getTransactionCount({ address: agent })).toBe(0);
    await chainClients(setup.stack.anvil.url).rpc('anvil_setBalance', [agent, '0x0']);

    setup.worker = await startMintWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(4);
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
  }, 120_000);
});
