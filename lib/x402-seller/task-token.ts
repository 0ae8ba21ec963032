import { createHash, createHmac } from 'node:crypto';
import { serverSecret } from '../auth/session';

// The task token an x402 buyer gets with its task: `amt_` + 43 base64url characters, a MAC of
// the sale's id under the server's secret. The database keeps only its SHA-256 (the lookup key),
// like assistant keys; the server can make it again, so a replayed payment gets the same answer
// as the first, token included (what an idempotent retry needs). Rotating SESSION_SECRET ends
// every task token, as it ends every session.

const PREFIX = 'amt_';
const TOKEN_RE = /^amt_[A-Za-z0-9_-]{43}$/;

export const taskTokenFor = (saleId: string) =>
  `${PREFIX}${createHmac('sha256', serverSecret()).update(`x402-task-token:${saleId}`).digest('base64url')}`;
export const hashTaskToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const looksLikeTaskToken = (token: string) => TOKEN_RE.test(token);
