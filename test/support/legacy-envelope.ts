import { createCipheriv, randomBytes } from 'node:crypto';
import type { Hex } from 'viem';
import { keyIdOf } from '@/lib/wallets/key-vault';

/** Seals a key exactly as the v1 vault did (agent address only as additional data). */
export function sealLegacyEnvelope(encryptionKeyHex: string, privateKey: Hex, agent: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(encryptionKeyHex.replace(/^0x/, ''), 'hex'), iv);
  cipher.setAAD(Buffer.from(agent.toLowerCase(), 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()]);
  return [
    'v1',
    keyIdOf(encryptionKeyHex),
    ...[iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url')),
  ].join('.');
}
