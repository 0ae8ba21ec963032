import { type Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getPublicClient } from '@/lib/chain/clients';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { startMintWorker, waitForTasks } from '../worker/support';
import { authorizationFor, postFund, signAuthorization } from './helpers';

// The product's defaults on a chain with EIP-7702 (what MINT_EXECUTION=auto picks there): paced
// batches of 10, each its own turn. The worker checks the agent's ETH before a run's first batch
// against no more than the fund route's early top-up sent for, so a 10-mint task starts on that
// top-up alone: asking for the transaction guard's cap there (3.4M gas against the 2.75M sent)
// cost it a second top-up, a block, before its first batch.

let worker: import('@/worker/loop').MintWorker | undefined;

const stack = useTestStack({
  blockTime: 1,
  env: {
    MINT_EXECUTION: 'batch',
    MINT_BATCH_SIZE: '10',
    MINT_INTERVAL_MS: '200',
    CHECK_INTERVAL_MS: '200',
    LOG_LEVEL: 'silent',
  },
  startTimeoutMs: 120_000,
});

afterAll(() => worker?.stop(), 30_000);

describe('the early gas top-up, batched and paced', () => {
  it('is all a 10-mint task needs: the worker sends no top-up of its own', async () => {
    const owner = user(3);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 10,
    });
    const authorization = authorizationFor(task);
    const res = await postFund(task.id, { authorization, signature: await signAuthorization(owner, authorization) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const operatorNonce = () => getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' });
    const nonceAfterFunding = await operatorNonce();

    worker = await startMintWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(10);
    const topUps = await getSql()<{ txHash: Hex | null }[]>`
      select tx_hash as "txHash" from agent_gas_topups where task_id = ${task.id}`;
    expect(topUps).toHaveLength(1); // the fund route's
    expect(await operatorNonce()).toBe(nonceAfterFunding);
  }, 120_000);
});
