import { randomBytes } from 'node:crypto';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it, vi } from 'vitest';
import type { KeyFile } from '@/lib/key-file';
import { AgentKeyVault, keyIdOf, VaultError } from '@/lib/wallets/key-vault';
import { sealLegacyEnvelope } from '../support/legacy-envelope';

const keyFile = (agentEncryptionKey = randomBytes(32).toString('hex'), previous: string[] = []): KeyFile => ({
  agentEncryptionKey,
  previousAgentEncryptionKeys: previous,
  operatorPrivateKey: generatePrivateKey(),
  mintSignerKeys: [],
});

function sealed() {
  const keys = keyFile();
  const vault = new AgentKeyVault(keys);
  const privateKey = generatePrivateKey();
  const agent = privateKeyToAccount(privateKey).address;
  const address = { agent, owner: privateKeyToAccount(generatePrivateKey()).address };
  return { keys, vault, privateKey, address, envelope: vault.encrypt(privateKey, address) };
}

/** Runs `fn`, expecting a VaultError whose message carries no key material. */
function expectVaultError(fn: () => unknown, secrets: string[]) {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(VaultError);
  const text = `${(error as Error).message} ${(error as Error).stack ?? ''} ${JSON.stringify(error)}`.toLowerCase();
  for (const secret of secrets) {
    const bare = secret.replace(/^0x/, '').toLowerCase();
    expect(text).not.toContain(bare);
    expect(text).not.toContain(Buffer.from(bare, 'hex').toString('base64url').toLowerCase());
  }
}

describe('AgentKeyVault', () => {
  it('round-trips a private key and never writes it in clear', () => {
    const { vault, privateKey, address, envelope } = sealed();
    expect(vault.decrypt(envelope, address)).toBe(privateKey);
    expect(vault.decrypt(envelope, { agent: address.agent.toLowerCase(), owner: address.owner.toLowerCase() })).toBe(
      privateKey,
    );
    expect(envelope).not.toContain(privateKey.slice(2));
    expect(envelope).not.toContain(Buffer.from(privateKey.slice(2), 'hex').toString('base64url'));
    // A random IV: sealing the same key twice gives different envelopes.
    expect(vault.encrypt(privateKey, address)).not.toBe(envelope);
    expect(envelope.split('.')[1]).toBe(vault.currentKeyId);
  });

  it('refuses an envelope moved to another agent address or another owner (both bound as additional data)', () => {
    const { keys, vault, privateKey, address, envelope } = sealed();
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expectVaultError(
      () => vault.decrypt(envelope, { ...address, agent: other }),
      [keys.agentEncryptionKey, privateKey],
    );
    expectVaultError(
      () => vault.decrypt(envelope, { ...address, owner: other }),
      [keys.agentEncryptionKey, privateKey],
    );
    // The two fields are not interchangeable either.
    expectVaultError(
      () => vault.decrypt(envelope, { agent: address.owner, owner: address.agent }),
      [keys.agentEncryptionKey, privateKey],
    );
  });

  it('opens a v1 envelope (agent address only) only for the upgrade, and never for another agent', () => {
    const { keys, vault, privateKey, address } = sealed();
    const legacy = sealLegacyEnvelope(keys.agentEncryptionKey, privateKey, address.agent);
    expect(vault.isLegacy(legacy) && vault.isStale(legacy)).toBe(true);
    expectVaultError(() => vault.decrypt(legacy, address), [keys.agentEncryptionKey, privateKey]);
    expect(() => vault.decrypt(legacy, address)).toThrow(/v1 envelope/);
    expect(vault.decrypt(legacy, address, { allowLegacy: true })).toBe(privateKey);
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expectVaultError(
      () => vault.decrypt(legacy, { ...address, agent: other }, { allowLegacy: true }),
      [keys.agentEncryptionKey, privateKey],
    );
  });

  it('refuses a tampered ciphertext, tag or IV, and a wrong key, without leaking keys', () => {
    const { keys, vault, privateKey, address, envelope } = sealed();
    const parts = envelope.split('.');
    for (const index of [2, 3, 4]) {
      const tampered = [...parts];
      const bytes = Buffer.from(tampered[index]!, 'base64url');
      bytes[0] = bytes[0]! ^ 0x01;
      tampered[index] = bytes.toString('base64url');
      expectVaultError(() => vault.decrypt(tampered.join('.'), address), [keys.agentEncryptionKey, privateKey]);
    }
    expectVaultError(() => vault.decrypt('v2.garbage', address), [keys.agentEncryptionKey]);
    // Same key id, different key bytes: authentication fails.
    const impostor = new AgentKeyVault(keyFile());
    const swapped = [parts[0], impostor.currentKeyId, ...parts.slice(2)].join('.');
    expectVaultError(() => impostor.decrypt(swapped, address), [keys.agentEncryptionKey, privateKey]);
  });

  it('keeps rows sealed with a previous key readable after a rotation', () => {
    const { keys, privateKey, address, envelope } = sealed();
    const rotated = new AgentKeyVault(keyFile(undefined, [keys.agentEncryptionKey]));
    expect(rotated.isStale(envelope)).toBe(true);
    expect(rotated.decrypt(envelope, address)).toBe(privateKey);
    const resealed = rotated.encrypt(privateKey, address);
    expect(rotated.isStale(resealed)).toBe(false);
    expect(resealed.split('.')[1]).not.toBe(keyIdOf(keys.agentEncryptionKey));
  });

  it('reloads the key file once when an envelope names a key it does not know yet', () => {
    const { keys: oldKeys, privateKey, address, envelope } = sealed();
    const newer = keyFile(undefined, [oldKeys.agentEncryptionKey]);
    const reload = vi.fn(() => newer);
    // This process started before the rotation and only knows some unrelated key.
    const stale = new AgentKeyVault(keyFile(), reload);
    expect(stale.decrypt(envelope, address)).toBe(privateKey);
    expect(reload).toHaveBeenCalledTimes(1);
    const unknown = new AgentKeyVault(keyFile(), () => keyFile());
    expectVaultError(() => unknown.decrypt(envelope, address), [oldKeys.agentEncryptionKey, privateKey]);
  });
});
