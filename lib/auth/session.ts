import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getAddress, type Address } from 'viem';
import {
  deleteEndedSessions,
  findActiveSession,
  insertSession,
  renewSession,
  revokeSession,
  revokeUserSessions,
} from '@/db/sessions';
import { getKeys } from '../key-file';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { readCookie, sessionCookieName, sessionSetCookie } from './cookie';

// Server-side sessions: the cookie carries a random token (HMAC-signed, so a forged cookie is
// refused without a query); Postgres holds its hash, the user and the expiry. Every request
// reads the row, so logout and "sign out everywhere" end a session at once in every web process.

/** A session ends after a day without use... */
export const SESSION_IDLE_SECONDS = 24 * 3600;
/** ...and a week after sign-in whatever happens (the cookie's Max-Age). */
export const SESSION_MAX_SECONDS = 7 * 24 * 3600;
/** Use renews the expiry at most this often, so reads do not each cost a write. */
const RENEW_EVERY_MS = 5 * 60_000;
// Sign-ins delete expired sessions at most once a minute per process: an expired row is refused
// when read anyway, so the sweep only keeps the table small.
const SWEEP_EVERY_MS = 60_000;
let lastSweep = 0;

export type Session = { address: Address; chainId: number; issuedAt: number; expiresAt: number; tokenHash: string };

/** The server's MAC secret (SESSION_SECRET, else the key file's): session cookies, x402 task tokens. */
export function serverSecret(): string {
  const fromEnv = getConfig().sessionSecret;
  if (fromEnv) return fromEnv;
  const fromKeyFile = getKeys().sessionSecret;
  if (!fromKeyFile) throw new Error('SESSION_SECRET is not set and the key file has no sessionSecret');
  return fromKeyFile;
}

const mac = (token: string) => createHmac('sha256', serverSecret()).update(token).digest('base64url');
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

/** Starts a session; answers the Set-Cookie header value that carries it. */
export async function startSession(
  input: { address: string; chainId: number },
  now = new Date(),
): Promise<{ setCookie: string; session: Session }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_IDLE_SECONDS * 1000);
  const tokenHash = hashOf(token);
  await insertSession({ tokenHash, userAddress: input.address, chainId: input.chainId, expiresAt, now });
  if (now.getTime() - lastSweep > SWEEP_EVERY_MS) {
    lastSweep = now.getTime();
    // Ended sessions are useless; a day of them helps debugging.
    await deleteEndedSessions({ before: new Date(now.getTime() - 24 * 3600_000) });
  }
  const session = {
    address: getAddress(input.address),
    chainId: input.chainId,
    issuedAt: seconds(now),
    expiresAt: seconds(expiresAt),
    tokenHash,
  };
  return { setCookie: sessionSetCookie(`${token}.${mac(token)}`, SESSION_MAX_SECONDS), session };
}

/** The live session a cookie value names, renewing its expiry on use; null for anything else. */
export async function sessionFromCookie(value: string | undefined, now = new Date()): Promise<Session | null> {
  const [token, given, extra] = (value ?? '').split('.');
  if (!token || !given || extra !== undefined) return null;
  const expected = Buffer.from(mac(token));
  const provided = Buffer.from(given);
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) return null;
  const tokenHash = hashOf(token);
  const row = await findActiveSession({ tokenHash, now });
  if (!row) return null;
  let expiresAt = row.expiresAt;
  if (now.getTime() - row.renewedAt.getTime() >= RENEW_EVERY_MS) {
    const idle = now.getTime() + SESSION_IDLE_SECONDS * 1000;
    expiresAt = new Date(Math.min(idle, row.createdAt.getTime() + SESSION_MAX_SECONDS * 1000));
    await renewSession({ tokenHash, now, expiresAt });
  }
  return {
    address: getAddress(row.userAddress),
    chainId: row.chainId,
    issuedAt: seconds(row.createdAt),
    expiresAt: seconds(expiresAt),
    tokenHash,
  };
}

const cookieOf = (req: Request) => readCookie(req.headers.get('cookie'), sessionCookieName());

export const getSession = (req: Request): Promise<Session | null> => sessionFromCookie(cookieOf(req));

export async function requireSession(req: Request): Promise<Session> {
  const session = await getSession(req);
  if (!session) throw new AppError('unauthorized:session', 'Sign in with your wallet first.');
  return session;
}

/** Logout: revokes this request's session, if it has a live one. */
export async function endSession(req: Request, now = new Date()) {
  const session = await getSession(req);
  if (session) await revokeSession({ tokenHash: session.tokenHash, now });
}

/** Sign out everywhere: revokes every session of the user, this one included. */
export const endAllSessions = (session: Session, now = new Date()) =>
  revokeUserSessions({ userAddress: session.address, now });

/**
 * The route's `:userAddress` must be the signed-in user. A stranger's address answers 404,
 * like a missing record, so the API never confirms what another user has.
 */
export function requireSameUser(session: Session, userAddress: string, surface: string) {
  if (userAddress.toLowerCase() !== session.address.toLowerCase()) {
    throw new AppError(`not_found:${surface}`, 'Nothing found for this address.');
  }
}
