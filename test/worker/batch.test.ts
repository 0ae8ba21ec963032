import { type Address, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { delegationCode } from '@/lib/chain/batch-calls';
import { getPublicClient } from '@/lib/chain/clients';
import { user } from '../support/fixtures';
import {
  awaitSweep,
  createFundedTask,
  expectLedgerMatchesChain,
  killWorker,
  spawnWorker,
  tokenBalance,
  useWorkerStack,
  waitForTasks,
} from './support';

// MINT_EXECUTION=batch on real anvil: one EIP-7702 transaction per batch from each agent to
// itself. The in-process worker runs with WORKER_TEST_FAULT=bad-mint-signature:3, so the first
// mint 3 it signs carries a signature the token refuses: that mint alone fails, the rest of its
// batch mints, and the retry mints it. The child worker signs its first delegation for the
// wrong nonce (the silent EIP-7702 failure): that batch must be caught, not counted.

type Row = {
  task_id: string;
  sequence_number: number;
  tx_hash: Hex;
  status: string;
  error: string | null;
  nonce: number;
};
const rowsOf = (taskId: string) =>
  getSql()<
    Row[]
  >`select task_id, sequence_number, tx_hash, status, error, nonce from ai_agent_mint_records where task_id = ${taskId} order by sequence_number`;

async function transactionsOf(rows: Row[]) {
  const hashes = [...new Set(rows.filter((r) => r.status === 'confirmed').map((r) => r.tx_hash))];
  return Promise.all(hashes.map((hash) => getPublicClient().getTransaction({ hash })));
}

const setup = useWorkerStack({
  env: {
    MINT_EXECUTION: 'batch',
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '0',
    RECEIPT_TIMEOUT_MS: '5000',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '3',
    WORKER_TEST_FAULT: 'bad-mint-signature:3',
    MAX_RETRIES: '5',
  },
});

describe('batched mints (EIP-7702)', () => {
  it('installs the delegation once per agent, one transaction per batch with the approval joined; a refused mint fails alone and is retried', async () => {
    const { MintWorker } = await import('@/worker/loop');
    const token = setup.stack.deployment.tokens[0]!.address;
    const quantities = [12, 7];
    const tasks = [];
    for (const [i, quantity] of quantities.entries())
      tasks.push(await createFundedTask(setup.stack, { userIndex: i + 1, quantity }));
    const before = await Promise.all([1, 2].map((i) => tokenBalance(token, user(i).address)));
    setup.worker = new MintWorker();
    await setup.worker.start();
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      60_000,
    );

    let refused = 0;
    for (const [i, task] of done.entries()) {
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(quantities[i]);
      expect((await tokenBalance(token, user(i + 1).address)) - before[i]!).toBe(
        BigInt(quantities[i]!) * 1000n * 10n ** 18n,
      );
      const agent = task.agentAddress as Address;
      expect(await getPublicClient().getCode({ address: agent })).toBe(
        delegationCode(setup.stack.deployment.batchExecutor!),
      );

      const rows = await rowsOf(task.id);
      const txs = await transactionsOf(rows);
      // Every transaction the agent sent is a batch to itself; exactly one carries the delegation.
      for (const tx of txs) expect(tx.to).toBe(agent);
      expect(txs.filter((tx) => tx.type === 'eip7702')).toHaveLength(1);
      expect(txs.filter((tx) => tx.type === 'eip7702')[0]!.nonce).toBe(0);
      const batches = Math.ceil(quantities[i]! / 5);
      // No separate approval: batches + (the retried mint's batch, if refused here) transactions, + 1 nonce for the
      // authorization, + the sweep of the agent's unburnt gas back to the operator once the task ended.
      const sweep = await awaitSweep(task.agentWalletId);
      const nonce = await getPublicClient().getTransactionCount({ address: agent });
      expect(nonce).toBe(txs.length + 2);
      expect(sweep.nonce).toBe(nonce - 1);
      const failedOnce = rows.find((r) => r.error?.includes('rejected'));
      if (failedOnce) {
        refused++;
        expect(failedOnce.sequence_number).toBe(3);
        expect(failedOnce.error).toMatch(/rejected AgentMint's mint signature/);
        // Its batch-mates minted in the first batch; it minted later in a transaction of its own retry.
        const mates = rows.filter((r) => r.sequence_number <= 5 && r.sequence_number !== 3);
        expect(new Set(mates.map((r) => r.tx_hash)).size).toBe(1);
        expect(failedOnce.tx_hash).not.toBe(mates[0]!.tx_hash);
      }
      // The refused mint is re-signed first into the next batch the worker signs after settling
      // it; pipelined, the batches after it may be on chain by then, and it goes in one more.
      expect(txs.length).toBeGreaterThanOrEqual(batches);
      expect(txs.length).toBeLessThanOrEqual(failedOnce ? batches + 1 : batches);
    }
    expect(refused).toBe(1);
    await expectLedgerMatchesChain(
      token,
      tasks.map((t) => t.id),
    );
  }, 90_000);

  it('a delegation signed for the wrong nonce is skipped on chain: the batch ran no code, its mints are not counted, the retry installs it', async () => {
    await setup.worker?.stop();
    setup.worker = undefined;
    const token = setup.stack.deployment.tokens[0]!.address;
    const task = await createFundedTask(setup.stack, { userIndex: 3, quantity: 8 });
    const child = spawnWorker({ ...setup.stack.env, WORKER_TEST_FAULT: 'bad-authorization' });
    setup.children.push(child);
    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 60_000);
    await killWorker(child);
    expect(
      done!.status,
      child
        .output()
        .split('\n')
        .filter((l) => /retrying|error|failed/.test(l))
        .slice(0, 3)
        .join('\n'),
    ).toBe('completed');
    expect(done!.mintsCompleted).toBe(8);
    expect(child.output()).toMatch(/ran no code/);
    const rows = await rowsOf(task.id);
    // The first batch's rows failed once (ran no code), then were re-signed and minted.
    expect(rows.filter((r) => r.error?.includes('ran no code')).length).toBe(5);
    const agent = task.agentAddress as Address;
    expect(await getPublicClient().getCode({ address: agent })).toBe(
      delegationCode(setup.stack.deployment.batchExecutor!),
    );
    await expectLedgerMatchesChain(token, [task.id]);
  }, 90_000);
});
