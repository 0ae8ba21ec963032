import { getAddress } from 'viem';
import { getAssistantKeyById, getAssistantKeyByTokenHash, recordRefusedAssistantKeyAttempt } from '@/db/assistant-keys';
import type { AssistantKey } from '@/db/schema';
import { AppError } from '../errors';
import type { AssistantCaller } from './caller';
import { sweepOldAssistantKeyUsesSoon } from './retention';
import type { AssistantKeyScope } from './scopes';
import { hashAssistantToken, looksLikeAssistantToken } from './tokens';

const refused = (message: string) => new AppError('unauthorized:assistant_key', message);

/** A dead key's attempts are logged at most this often: an assistant retrying in a loop adds one row a minute. */
export const REFUSED_LOG_EVERY_SECONDS = 60;

const logRefused = (key: AssistantKey, reason: 'revoked' | 'expired') =>
  recordRefusedAssistantKeyAttempt({ keyId: key.id, errorCode: reason, everySeconds: REFUSED_LOG_EVERY_SECONDS });

function callerOf(key: AssistantKey): AssistantCaller {
  return {
    keyId: key.id,
    keyName: key.name,
    userAddress: getAddress(key.userAddress),
    scopes: new Set(key.scopes),
    dailyCapUsdc: BigInt(key.dailyCapUsdc),
  };
}

/**
 * The caller a bearer token names, checked on every request so that a revocation or an expiry
 * takes effect at once. An unknown, revoked or expired key is refused (401, with why); a
 * revoked or expired key's attempts are logged on the key (at most one a minute), so its owner
 * sees it was still in use.
 */
export async function authenticateAssistantKey(token: string, now = new Date()): Promise<AssistantCaller> {
  sweepOldAssistantKeyUsesSoon();
  if (!looksLikeAssistantToken(token)) throw refused('This is not an AgentMint assistant key.');
  const key = await getAssistantKeyByTokenHash({ tokenHash: hashAssistantToken(token) });
  if (!key) throw refused('Unknown assistant key.');
  if (key.revokedAt) {
    await logRefused(key, 'revoked');
    throw refused(`This assistant key was revoked on ${key.revokedAt.toISOString()}.`);
  }
  if (key.expiresAt <= now) {
    await logRefused(key, 'expired');
    throw refused(`This assistant key expired on ${key.expiresAt.toISOString()}.`);
  }
  return callerOf(key);
}

/** Whether the key behind an open MCP session still works (for notifications sent between requests). */
export async function isAssistantKeyLive(keyId: string, now = new Date()): Promise<boolean> {
  const key = await getAssistantKeyById({ id: keyId });
  return Boolean(key && !key.revokedAt && key.expiresAt > now);
}

export function requireScope(caller: AssistantCaller, scope: AssistantKeyScope, action: string) {
  if (!caller.scopes.has(scope)) {
    throw new AppError(
      'forbidden:scope',
      `This assistant key may not ${action}: it lacks the "${scope}" scope. The user can create a key with it on AgentMint's "Connect an assistant" page.`,
      { details: { requiredScope: scope } },
    );
  }
}
