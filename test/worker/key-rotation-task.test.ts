import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { readKeyFile } from '@/lib/key-file';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { rotateAgentKeys } from '@/lib/wallets/key-rotation';
import { keyIdOf } from '@/lib/wallets/key-vault';
import { createFundedTask, expectLedgerMatchesChain, useWorkerStack, waitForTasks } from './support';

// Found by review: a contract task run loads its agent's key envelope once and unlocks it for
// every paced batch. `keys:rotate` re-seals every row under a new key and then drops the old
// one from the key file; once the worker had reloaded the file (here: another wallet, already
// re-sealed, unlocked in the same process, as another task's first batch does), the running
// task's next unlock threw "no encryption key with id …", not transient, and the task failed.

const setup = useWorkerStack({
  env: {
    MINT_BATCH_SIZE: '2',
    MINT_INTERVAL_MS: '1500',
    CHECK_INTERVAL_MS: '200',
    MAX_RETRIES: '1',
    LOG_LEVEL: 'silent',
  },
  startWorker: true,
});

describe('keys:rotate while a paced contract task runs', () => {
  it('the task goes on with its re-sealed key and completes', async () => {
    const other = await getOrCreateAgentWallet(privateKeyToAccount(generatePrivateKey()).address);
    const task = await createFundedTask(setup.stack, { userIndex: 2, quantity: 6 });
    const oldKeyId = keyIdOf(readKeyFile(setup.stack.keyFile).agentEncryptionKey);
    // The first batch settles; the worker then waits MINT_INTERVAL_MS before the next.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const current = (await getTaskById({ id: task.id }))!;
      if (current.mintsCompleted >= 2) break;
      if (current.status !== 'processing' && current.status !== 'funded')
        throw new Error(`task ${current.status}: ${current.errorMessage}`);
      if (Date.now() > deadline) throw new Error('first batch not settled in 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const report = await rotateAgentKeys({ keyFile: setup.stack.keyFile, graceMs: 0 });
    expect(report.droppedKeys).toBe(1);
    expect(readKeyFile(setup.stack.keyFile).previousAgentEncryptionKeys).toEqual([]);
    // This process (the worker's) opens a re-sealed row: its vault reloads the key file, and
    // the old key is gone from it.
    const resealed = (await getWalletById({ id: other.id }))!;
    expect(resealed.encryptedPrivateKey.split('.')[1]).not.toBe(oldKeyId);
    expect(unlockAgentAccount(resealed).address.toLowerCase()).toBe(other.agentAddress);

    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(6);
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
  }, 90_000);
});
