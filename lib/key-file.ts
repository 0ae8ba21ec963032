import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { generatePrivateKey } from 'viem/accounts';
import { getConfig } from './config';
import { HEX_WORD } from './hex';

const hex32 = z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex');
const privateKey = z.string().regex(HEX_WORD, 'must be a 0x-prefixed 32-byte private key');

const keyFileSchema = z.object({
  /** Current AES-256-GCM key for agent wallet keys. */
  agentEncryptionKey: hex32,
  /** Keys replaced by `npm run keys:rotate`, kept so rows not yet re-encrypted stay readable. */
  previousAgentEncryptionKeys: z.array(hex32).default([]),
  /** Pays gas, submits EIP-3009 transfers, tops up agents; mint signer of the local demo tokens. */
  operatorPrivateKey: privateKey,
  /** Further mint signer keys for tokens whose mintSigner is not the operator. */
  mintSignerKeys: z.array(privateKey).default([]),
  /** Signs session cookies when SESSION_SECRET is not set. */
  sessionSecret: z.string().min(32).optional(),
});

export type KeyFile = z.infer<typeof keyFileSchema>;

export class KeyFileError extends Error {}

/** Reads and validates the key file; refuses one that group or others can read. */
export function readKeyFile(file: string): KeyFile {
  if (!existsSync(file)) {
    throw new KeyFileError(
      `AGENT_KEY_FILE ${file} does not exist. On CHAIN=local, \`npm start\` creates it: start the stack first (or point AGENT_KEY_FILE at the one it uses). On another chain write it yourself, mode 0600, with agentEncryptionKey and a funded operatorPrivateKey (README: Configuration).`,
    );
  }
  const mode = statSync(file).mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new KeyFileError(
      `AGENT_KEY_FILE ${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new KeyFileError(`AGENT_KEY_FILE ${file} is not valid JSON`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    // Name the field, never echo its value: these are secrets.
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new KeyFileError(`AGENT_KEY_FILE ${file} is invalid: ${fields}`);
  }
  return parsed.data;
}

// Kept on globalThis like the pool and the chain clients: Next may load this module more than
// once in one process, and a rotation one copy picks up must be seen by all.
const holder = globalThis as unknown as { __agentMintKeys?: KeyFile };

/** The key file of this install (AGENT_KEY_FILE). Cached; `reloadKeys` picks up a rotation. */
export function getKeys(): KeyFile {
  holder.__agentMintKeys ??= readKeyFile(getConfig().agentKeyFile);
  return holder.__agentMintKeys;
}

export function reloadKeys(): KeyFile {
  holder.__agentMintKeys = readKeyFile(getConfig().agentKeyFile);
  return holder.__agentMintKeys;
}

/** Writes atomically with mode 0600 (temp file + rename), so readers never see half a file. */
export function writeKeyFile(file: string, keys: KeyFile) {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Fresh random keys: no earlier encryption keys, no mint signer besides the operator. */
export function newKeyFile(): KeyFile {
  return {
    agentEncryptionKey: randomBytes(32).toString('hex'),
    previousAgentEncryptionKeys: [],
    operatorPrivateKey: generatePrivateKey(),
    mintSignerKeys: [],
    sessionSecret: randomBytes(32).toString('hex'),
  };
}

/** Local chain only: creates a fresh key file on first start. Returns whether it was created. */
export function ensureKeyFile(file: string): boolean {
  if (existsSync(file)) return false;
  writeKeyFile(file, newKeyFile());
  return true;
}
