import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Hex } from 'viem';
import type { KeyFile } from '../key-file';

// Envelope: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url). AES-256-GCM with a random 96-bit
// IV, the agent address bound as additional data (a ciphertext moved to another row fails to
// decrypt), and the key id so rotated keys can still open rows not yet re-encrypted.

const VERSION = 'v1';

export const keyIdOf = (keyHex: string) =>
  createHash('sha256').update(Buffer.from(keyHex.replace(/^0x/, ''), 'hex')).digest('hex').slice(0, 12);

const keyBytes = (keyHex: string) => Buffer.from(keyHex.replace(/^0x/, ''), 'hex');
const aad = (agentAddress: string) => Buffer.from(agentAddress.toLowerCase(), 'utf8');

export class VaultError extends Error {}

export class AgentKeyVault {
  /**
   * @param loadKeys returns the key file; called again once when an envelope names a key id
   *   this process does not know yet (another process rotated the keys).
   */
  constructor(
    private keys: KeyFile,
    private readonly reloadKeys?: () => KeyFile,
  ) {}

  get currentKeyId() {
    return keyIdOf(this.keys.agentEncryptionKey);
  }

  encrypt(privateKey: Hex, agentAddress: string): string {
    // Re-read the key file first: after `keys:rotate` a new wallet must never be sealed with a
    // key the rotation is about to drop. Wallet creation is rare, so the read costs nothing.
    if (this.reloadKeys) this.keys = this.reloadKeys();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keyBytes(this.keys.agentEncryptionKey), iv);
    cipher.setAAD(aad(agentAddress));
    const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
    return [VERSION, this.currentKeyId, ...parts].join('.');
  }

  decrypt(envelope: string, agentAddress: string): Hex {
    const [version, keyId, iv, tag, ciphertext] = envelope.split('.');
    if (version !== VERSION || !keyId || !iv || !tag || !ciphertext) throw new VaultError('unrecognised key envelope');
    let key = this.findKey(keyId);
    if (!key && this.reloadKeys) {
      this.keys = this.reloadKeys();
      key = this.findKey(keyId);
    }
    if (!key) throw new VaultError(`no encryption key with id ${keyId} in the key file`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', keyBytes(key), Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(agentAddress));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
      return `0x${plain.toString('hex')}`;
    } catch {
      // Never include key material or plaintext in the error.
      throw new VaultError('agent key failed authentication (wrong key or tampered row)');
    }
  }

  /** True when the envelope was sealed with an older key. */
  isStale(envelope: string): boolean {
    return envelope.split('.')[1] !== this.currentKeyId;
  }

  private findKey(keyId: string): string | undefined {
    return [this.keys.agentEncryptionKey, ...this.keys.previousAgentEncryptionKeys].find((k) => keyIdOf(k) === keyId);
  }
}
