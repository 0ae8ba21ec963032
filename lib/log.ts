import pino from 'pino';
import { getConfig } from './config';

// Paths that may carry secrets or full signatures. Redaction is by key, at any depth we list;
// code must still never put a private key into a log object in the first place.
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

function createLogger() {
  const config = getConfig();
  return pino({
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

const holder = globalThis as unknown as { __agentMintLogger?: pino.Logger };

export function getLogger(): pino.Logger {
  holder.__agentMintLogger ??= createLogger();
  return holder.__agentMintLogger;
}

/** A logger whose every line names the process part (`web`, `worker`, `ops`). */
export const serviceLogger = (service: string) => getLogger().child({ service });

export type Logger = pino.Logger;
