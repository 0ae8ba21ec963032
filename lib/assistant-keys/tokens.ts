import { createHash, randomBytes } from 'node:crypto';

// An assistant key is `amk_` + 32 random bytes (base64url): 256 bits, so the database stores
// only its SHA-256 (no salt or slow hash needed: nothing to guess) and finds a key by that hash.

export const TOKEN_PREFIX = 'amk_';
const TOKEN_RE = /^amk_[A-Za-z0-9_-]{43}$/;

export const newAssistantToken = () => `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
export const hashAssistantToken = (token: string) => createHash('sha256').update(token).digest('hex');
/** What the page shows of a key: enough to tell keys apart, far too little to use one. */
export const displayPrefix = (token: string) => token.slice(0, TOKEN_PREFIX.length + 6);
export const looksLikeAssistantToken = (token: string) => TOKEN_RE.test(token);

/**
 * The bearer token of an `Authorization` header: undefined when there is none, null when the
 * header is there but is not `Bearer <token>` (a malformed credential is refused, not ignored).
 */
export function bearerToken(header: string | null): string | null | undefined {
  if (header === null || header.trim() === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}
