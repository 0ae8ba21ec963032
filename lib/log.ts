import pino from 'pino';
import { getConfig } from './config';
import { getKeys } from './key-file';

// Three layers keep keys and full signatures out of the logs, because code will one day put
// the wrong object into a log call:
// 1. pino `redact` paths for the names we know;
// 2. `formatters.log` replaces the value of any key that sounds secret, at any depth;
// 3. the output stream rewrites every finished line: any 64-hex run that is a registered secret
//    (operator key, mint signer keys, encryption keys, unlocked agent keys) and any hex run of a
//    signature's length or more (65-byte signatures, raw transactions) is cut down. Tx hashes
//    and mintIds are 32 bytes too, so 64-hex runs are only removed when they are a known secret.
// JSON always: LOG_FORMAT=pretty would need pino-pretty, which is not installed; pipe to a
// viewer instead.

const REDACT = [
  'privateKey',
  '*.privateKey',
  'encryptedPrivateKey',
  '*.encryptedPrivateKey',
  'operatorPrivateKey',
  'agentEncryptionKey',
  'signature',
  '*.signature',
  'authorization.signature',
  'rawTransaction',
  '*.rawTransaction',
  'headers.cookie',
  'headers.authorization',
];

const CENSOR = '[redacted]';
const SECRET_KEY =
  /private|secret|signature|encrypted|mnemonic|password|passphrase|rawTransaction|^cookie$|^sig$|^(r|s)$/i;
// Redaction walks a log object this deep; below that a value is cut off, so a long chain of error
// causes or a huge nested object cannot stall a log line.
const MAX_DEPTH = 8;

const secrets = new Set<string>();
const normalise = (hex: string) => hex.replace(/^0x/i, '').toLowerCase();

/** Makes this exact value unloggable: it is replaced wherever it appears in a line. */
export function registerLogSecret(value: string | undefined | null) {
  if (value && /^(0x)?[0-9a-fA-F]{64}$/.test(value)) secrets.add(normalise(value));
}

const LONG_HEX = /(0x)?[0-9a-fA-F]{130,}/g;
const HEX32 = /(?<![0-9a-zA-Z])(0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;

/** The line with known secrets removed and signature-sized hex cut to a prefix. */
export function scrubLine(line: string): string {
  let out = line.replace(LONG_HEX, (m) => `${m.slice(0, 10)}…[${m.length} hex chars]`);
  if (secrets.size) out = out.replace(HEX32, (m) => (secrets.has(normalise(m)) ? CENSOR : m));
  return out;
}

/** Deep copy of a log object with every secret-sounding key's value replaced. */
export function scrubObject(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[depth]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) {
    return {
      type: value.name,
      message: value.message,
      stack: value.stack,
      cause: scrubObject(value.cause, depth + 1, seen),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrubObject(v, depth + 1, seen));
  if (value instanceof Date || typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? CENSOR : scrubObject(v, depth + 1, seen);
  }
  return out;
}

function scrubbingStream(target: { write(line: string): unknown }) {
  return { write: (line: string) => target.write(scrubLine(line)) };
}

function registerKeyFileSecrets() {
  try {
    const keys = getKeys();
    for (const k of [
      keys.operatorPrivateKey,
      keys.agentEncryptionKey,
      ...keys.mintSignerKeys,
      ...keys.previousAgentEncryptionKeys,
    ]) {
      registerLogSecret(k);
    }
  } catch {
    // No key file (yet): the by-name layers still apply.
  }
}

export type CreateLoggerOptions = { level?: string; destination?: { write(line: string): unknown } };

/** A logger with all three layers; tests pass their own destination to read what was written. */
export function createLogger(options: CreateLoggerOptions = {}): pino.Logger {
  registerKeyFileSecrets();
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? getConfig().logLevel,
      redact: { paths: REDACT, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => scrubObject(obj) as Record<string, unknown> },
    },
    scrubbingStream(destination),
  );
}

const holder = globalThis as unknown as { __agentMintLogger?: pino.Logger };

export function getLogger(): pino.Logger {
  holder.__agentMintLogger ??= createLogger();
  return holder.__agentMintLogger;
}

/** Replaces the process logger (tests capture output this way). */
export function setLogger(logger: pino.Logger | undefined) {
  holder.__agentMintLogger = logger;
}

/** A logger whose every line names the process part (`web`, `worker`, `ops`). */
export const serviceLogger = (service: string) => getLogger().child({ service });

type TaskLike = { id: string; agentAddress?: string | null; userAddress?: string | null };

/**
 * Child logger for one task: every line carries `taskId` and `agent`; add the transaction with
 * `taskLogger(task).child({ txHash })` or pass `{ txHash }` on the line.
 */
export function taskLogger(task: TaskLike, base: pino.Logger = getLogger()): pino.Logger {
  return base.child({ taskId: task.id, agent: task.agentAddress ?? undefined, user: task.userAddress ?? undefined });
}

export type Logger = pino.Logger;
