import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { getOperatorWalletClient, getPublicClient } from '@/lib/chain/clients';
import { withOperatorNonce } from '@/lib/chain/operator-send';
import { user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

// The operator's nonce is shared by every web process and worker (funding transfers, gas
// top-ups). Each send takes it under a Postgres advisory lock: a process that wants it while
// another holds it waits, then gets the next nonce, never the same one.

const stack = useTestStack({ blockTime: 1, startTimeoutMs: 120_000 });

describe('the operator nonce lock', () => {
  it('a second process waits while the first holds the operator nonce, then sends on the next one', async () => {
    const to = user(1).address;
    const holdMs = 1_500;
    const child = spawn('npx', ['tsx', 'test/funding/operator-nonce-child.ts', JSON.stringify({ to, holdMs })], {
      env: { ...process.env, ...stack.env },
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const first = JSON.parse((await lines.next()).value as string) as { nonce: number; hash: `0x${string}` };
      const askedAt = Date.now();
      const second = await withOperatorNonce(async (nonce) => {
        const hash = await getOperatorWalletClient().sendTransaction({ to, value: 1n, nonce, gas: 21_000n });
        return { nonce, hash, at: Date.now() };
      });
      expect(second.nonce).toBe(first.nonce + 1);
      // It got the nonce only once the child let go (without the lock: within a few ms).
      expect(second.at - askedAt).toBeGreaterThan(holdMs / 2);
      const receipts = await Promise.all(
        [first.hash, second.hash].map((hash) => getPublicClient().waitForTransactionReceipt({ hash })),
      );
      expect(receipts.map((r) => r.status)).toEqual(['success', 'success']);
    } finally {
      child.kill();
      await exited;
    }
  }, 90_000);
});
