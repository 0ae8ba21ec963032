import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { listWallets } from '@/db/wallets';
import { readKeyFile } from '@/lib/key-file';
import { rotateAgentKeys } from '@/lib/wallets/key-rotation';
import { keyIdOf } from '@/lib/wallets/key-vault';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { useTestStack } from '../support/use-test-stack';

const stack = useTestStack({ chain: false });

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

describe('keys:rotate', () => {
  it('re-encrypts every wallet under a new key while readers keep working, then drops the old key', async () => {
    const wallets = await Promise.all(Array.from({ length: 8 }, () => getOrCreateAgentWallet(newUser())));
    const oldKey = readKeyFile(stack.keyFile).agentEncryptionKey;

    // Readers in this process hold the pre-rotation key file in memory the whole time.
    let reads = 0;
    let readerError: unknown;
    let rotating = true;
    const readers = (async () => {
      while (rotating) {
        for (const w of await listWallets()) {
          try {
            expect(unlockAgentAccount(w).address.toLowerCase()).toBe(w.agentAddress);
            reads++;
          } catch (error) {
            readerError = error;
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    // A wallet created mid-rotation must not be sealed with the key that is about to go.
    const lateWallet = new Promise((r) => setTimeout(r, 100)).then(() => getOrCreateAgentWallet(newUser()));
    const report = await rotateAgentKeys({ keyFile: stack.keyFile, graceMs: 300 });
    rotating = false;
    await readers;
    const late = await lateWallet;

    expect(readerError).toBeUndefined();
    expect(reads).toBeGreaterThan(0);
    expect(report.reencrypted).toBeGreaterThanOrEqual(wallets.length);
    expect(report.unreadable).toBe(0);
    expect(report.droppedKeys).toBe(1);

    const keys = readKeyFile(stack.keyFile);
    expect(keys.agentEncryptionKey).not.toBe(oldKey);
    expect(keys.previousAgentEncryptionKeys).toEqual([]);
    expect(keys.operatorPrivateKey).toBe(stack.keys.operatorPrivateKey);
    const rows = await listWallets();
    expect(rows.map((w) => w.encryptedPrivateKey.split('.')[1])).toEqual(
      rows.map(() => keyIdOf(keys.agentEncryptionKey)),
    );
    for (const w of rows) expect(unlockAgentAccount(w).address.toLowerCase()).toBe(w.agentAddress);
    expect(rows.some((w) => w.id === late.id)).toBe(true);
  });

  it('npm run keys:rotate prints counts and never a key', async () => {
    await getOrCreateAgentWallet(newUser());
    const before = readKeyFile(stack.keyFile);
    const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'scripts/rotate-keys.ts'], {
      env: { ...process.env, ...stack.env, LOG_LEVEL: 'warn' },
      timeout: 60_000,
    });
    const after = readKeyFile(stack.keyFile);
    expect(after.agentEncryptionKey).not.toBe(before.agentEncryptionKey);
    expect(after.previousAgentEncryptionKeys).toEqual([]);
    expect(stdout).toMatch(/re-encrypted:\s+\d+/);
    expect(stdout).toMatch(/old keys dropped:\s+1/);
    const output = (stdout + stderr).toLowerCase();
    for (const secret of [before.agentEncryptionKey, after.agentEncryptionKey, before.operatorPrivateKey.slice(2)]) {
      expect(output).not.toContain(secret.toLowerCase());
    }
    expect(readFileSync(stack.keyFile).length).toBeGreaterThan(0);
    for (const w of await listWallets()) expect(unlockAgentAccount(w).address.toLowerCase()).toBe(w.agentAddress);
  });
});
