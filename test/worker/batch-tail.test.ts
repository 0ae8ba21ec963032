import { describe, expect, it } from 'vitest';
import { runAudit } from '@/lib/audit/run-audit';
import { createFundedTask, expectLedgerMatchesChain, useWorkerStack, waitForTasks } from './support';

// Found by `npm run chaos`: in batch mode (EIP-7702) the gas limit was the first batch's
// estimate per mint × the batch's size, so a smaller last batch (6 mints in batches of 5: the
// 6th alone) lacked the transaction's fixed cost, ran out of gas and reverted on every retry.

const setup = useWorkerStack({
  env: {
    MINT_EXECUTION: 'batch',
    MINT_BATCH_SIZE: '5',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
    LOG_LEVEL: 'silent',
  },
  startWorker: true,
});

describe('batched mints', () => {
  it('a last batch smaller than the first is mined, not reverted for want of gas', async () => {
    const task = await createFundedTask(setup.stack, { userIndex: 2, quantity: 6 });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
    const audit = await runAudit({ record: false });
    expect(audit.discrepancies).toEqual([]);
    expect(audit.users[0]!.eth.reverted).toBe(0);
  }, 90_000);
});
