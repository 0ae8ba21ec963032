import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Hex } from 'viem';
import type { KeyFile } from '../key-file';

// Envelope: `v2.<keyId>.<iv>.<tag>.<ciphertext>` (base64url). AES-256-GCM with a random 96-bit
// IV; the agent address AND its owner (the user address) bound as additional data, so a
// ciphertext moved to another row, or a row whose owner was rewritten in the database, fails
// to decrypt; the key id lets rotated keys still open rows not yet re-encrypted.
//
// v1 envelopes (before the owner was bound) carry only the agent address: swapping whole
// wallet rows between users, or rewriting a row's user_address, kept them readable. They are
// opened only by the upgrade (`upgradeLegacyEnvelopes`, run when a worker starts and by
// `npm run keys:rotate`), which re-seals each one as v2 for the owner its row names at that
// moment: the database is trusted once, at upgrade time, exactly as far as the old code always
// trusted it; from then on a v1 row (say, restored from an old backup into another user's
// row) unlocks nothing.

const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

export const keyIdOf = (keyHex: string) =>
  createHash('sha256')
    .update(Buffer.from(keyHex.replace(/^0x/, ''), 'hex'))
    .digest('hex')
    .slice(0, 12);

const keyBytes = (keyHex: string) => Buffer.from(keyHex.replace(/^0x/, ''), 'hex');

/** Whose key this is: the agent wallet's address and the user who owns it. */
export type KeyBinding = { agent: string; owner: string };

const aadOf = (version: string, { agent, owner }: KeyBinding) =>
  Buffer.from(
    version === LEGACY_VERSION ? agent.toLowerCase() : `${agent.toLowerCase()}:${owner.toLowerCase()}`,
    'utf8',
  );

export class VaultError extends Error {}

export class AgentKeyVault {
  /**
   * @param reloadKeys returns the key file; called again once when an envelope names a key id
   *   this process does not know yet (another process rotated the keys).
   */
  constructor(
    private keys: KeyFile,
    private readonly reloadKeys?: () => KeyFile,
  ) {}

  get currentKeyId() {
    return keyIdOf(this.keys.agentEncryptionKey);
  }

  encrypt(privateKey: Hex, binding: KeyBinding): string {
    // Re-read the key file first: after `keys:rotate` a new wallet must never be sealed with a
    // key the rotation is about to drop. Wallet creation is rare, so the read costs nothing.
    if (this.reloadKeys) this.keys = this.reloadKeys();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyBytes(this.keys.agentEncryptionKey), iv);
    cipher.setAAD(aadOf(VERSION, binding));
    const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
    return [VERSION, this.currentKeyId, ...parts].join('.');
  }

  /** @param allowLegacy only the upgrade opens v1 envelopes (see the top of this file). */
  decrypt(envelope: string, binding: KeyBinding, { allowLegacy = false } = {}): Hex {
    const [version, keyId, iv, tag, ciphertext] = envelope.split('.');
    if ((version !== VERSION && version !== LEGACY_VERSION) || !keyId || !iv || !tag || !ciphertext)
      throw new VaultError('unrecognised key envelope');
    if (version === LEGACY_VERSION && !allowLegacy) {
      throw new VaultError(
        'agent key is sealed without its owner (v1 envelope); a worker start or `npm run keys:rotate` upgrades it',
      );
    }
    let key = this.findKey(keyId);
    if (!key && this.reloadKeys) {
      this.keys = this.reloadKeys();
      key = this.findKey(keyId);
    }
    if (!key) throw new VaultError(`no encryption key with id ${keyId} in the key file`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyBytes(key), Buffer.from(iv, 'base64url'));
      decipher.setAAD(aadOf(version, binding));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
      return `0x${plain.toString('hex')}`;
    } catch {
      // Never include key material or plaintext in the error.
      throw new VaultError('agent key failed authentication (wrong key, or a tampered or swapped row)');
    }
  }

  /** True when the envelope must be re-sealed: an older key, or a v1 envelope without its owner. */
  isStale(envelope: string): boolean {
    const [version, keyId] = envelope.split('.');
    return version !== VERSION || keyId !== this.currentKeyId;
  }

  isLegacy(envelope: string): boolean {
    return envelope.startsWith(`${LEGACY_VERSION}.`);
  }

  private findKey(keyId: string): string | undefined {
    return [this.keys.agentEncryptionKey, ...this.keys.previousAgentEncryptionKeys].find((k) => keyIdOf(k) === keyId);
  }
}
