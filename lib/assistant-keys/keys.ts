import { formatUnits, getAddress } from 'viem';
import {
  countLiveAssistantKeysByUser,
  insertAssistantKey,
  listAssistantKeysByUser,
  listAssistantKeyUsesByKeys,
  revokeAssistantKey,
  sumAssistantKeySpendByKeys,
} from '@/db/assistant-keys';
import type { AssistantKey, AssistantKeyUse } from '@/db/schema';
import { AppError } from '../errors';
import { ASSISTANT_KEY_SCOPES, type AssistantKeyScope } from './scopes';
import { displayPrefix, hashAssistantToken, newAssistantToken } from './tokens';

/** Live keys one user may hold at once: enough for every assistant they use, few enough to review. */
export const MAX_LIVE_KEYS = 20;
export const MAX_EXPIRY_DAYS = 365;
const PAGE_KEYS = 50;
const PAGE_USES = 50;

export type AssistantKeyStatus = 'active' | 'expired' | 'revoked';

const statusOf = (key: AssistantKey, now: Date): AssistantKeyStatus =>
  key.revokedAt ? 'revoked' : key.expiresAt <= now ? 'expired' : 'active';

/** A key as the page shows it: never its token or hash, only the prefix that tells keys apart. */
export function toAssistantKeyDto(key: AssistantKey, spentUsdc = 0n, now = new Date()) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.tokenPrefix,
    scopes: ASSISTANT_KEY_SCOPES.filter((s) => key.scopes.includes(s)),
    status: statusOf(key, now),
    dailyCapUsdc: key.dailyCapUsdc,
    dailyCap: formatUnits(BigInt(key.dailyCapUsdc), 6),
    spentLast24hUsdc: spentUsdc.toString(),
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt.toISOString(),
    revokedAt: key.revokedAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  };
}
export type AssistantKeyDto = ReturnType<typeof toAssistantKeyDto>;

const toUseDto = (use: AssistantKeyUse) => ({
  keyId: use.keyId,
  action: use.action,
  outcome: use.outcome,
  taskId: use.taskId,
  spendUsdc: use.spendUsdc,
  errorCode: use.errorCode,
  at: use.createdAt.toISOString(),
});

/**
 * Creates a key for the signed-in user and answers its token — the only time it exists outside
 * the caller's hands: the database keeps its SHA-256.
 */
export async function createAssistantKey(
  input: {
    userAddress: string;
    name: string;
    scopes: AssistantKeyScope[];
    dailyCapUsdc: bigint;
    expiresInDays: number;
  },
  now = new Date(),
): Promise<{ key: AssistantKeyDto; token: string }> {
  const live = await countLiveAssistantKeysByUser({ userAddress: input.userAddress, now });
  if (live >= MAX_LIVE_KEYS) {
    throw new AppError(
      'conflict:assistant_key',
      `You already have ${live} live assistant keys (at most ${MAX_LIVE_KEYS}); revoke one you no longer use first.`,
    );
  }
  const token = newAssistantToken();
  const key = await insertAssistantKey({
    userAddress: input.userAddress,
    name: input.name,
    tokenHash: hashAssistantToken(token),
    tokenPrefix: displayPrefix(token),
    scopes: [...new Set(input.scopes)],
    dailyCapUsdc: input.dailyCapUsdc.toString(),
    expiresAt: new Date(now.getTime() + input.expiresInDays * 86_400_000),
  });
  return { key: toAssistantKeyDto(key, 0n, now), token };
}

/** The user's keys (newest first) with what each committed in the last 24 h, and their latest uses. */
export async function listAssistantKeys(userAddress: string, now = new Date()) {
  const keys = await listAssistantKeysByUser({ userAddress, limit: PAGE_KEYS });
  const ids = keys.map((k) => k.id);
  const [spent, uses] = await Promise.all([
    sumAssistantKeySpendByKeys({ keyIds: ids }),
    listAssistantKeyUsesByKeys({ keyIds: ids, limit: PAGE_USES }),
  ]);
  return {
    userAddress: getAddress(userAddress),
    keys: keys.map((k) => toAssistantKeyDto(k, spent.get(k.id) ?? 0n, now)),
    uses: uses.map(toUseDto),
  };
}

/** Revokes one of the user's keys at once (every later request with it gets 401); another user's answers 404. */
export async function revokeUserAssistantKey(
  { id, userAddress }: { id: string; userAddress: string },
  now = new Date(),
) {
  const key = await revokeAssistantKey({ id, userAddress, now });
  if (!key) throw new AppError('not_found:assistant_key', 'No such assistant key.');
  return toAssistantKeyDto(key, 0n, now);
}
