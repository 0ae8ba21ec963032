import { createHmac, timingSafeEqual } from 'node:crypto';
import { getAddress, type Address } from 'viem';
import { getKeys } from '../chain/clients';
import { getConfig } from '../config';
import { AppError } from '../errors';

// A stateless session: the signed-in address in an HMAC-SHA256-signed, expiring, httpOnly
// cookie. Stateless so any number of web processes accept it without a shared store.

export const SESSION_COOKIE = 'agentmint_session';
export const SESSION_TTL_SECONDS = 7 * 24 * 3600;

export type Session = { address: Address; chainId: number; issuedAt: number; expiresAt: number };

function secret(): string {
  const fromEnv = getConfig().sessionSecret;
  if (fromEnv) return fromEnv;
  const fromKeyFile = getKeys().sessionSecret;
  if (!fromKeyFile) throw new Error('SESSION_SECRET is not set and the key file has no sessionSecret');
  return fromKeyFile;
}

const sign = (payload: string) => createHmac('sha256', secret()).update(payload).digest('base64url');

export function createSessionToken(input: { address: string; chainId: number }, now = Date.now()): string {
  const issuedAt = Math.floor(now / 1000);
  const session: Session = {
    address: getAddress(input.address),
    chainId: input.chainId,
    issuedAt,
    expiresAt: issuedAt + SESSION_TTL_SECONDS,
  };
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url');
  return `${payload}.${sign(payload)}`;
}

export function readSessionToken(token: string | undefined, now = Date.now()): Session | null {
  if (!token) return null;
  const [payload, mac] = token.split('.');
  if (!payload || !mac) return null;
  const expected = Buffer.from(sign(payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const session = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Session;
    if (typeof session.expiresAt !== 'number' || session.expiresAt * 1000 <= now) return null;
    return { ...session, address: getAddress(session.address) };
  } catch {
    return null;
  }
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined; // malformed percent-encoding (`%E0%A4%A`): no session, not a 500
    }
  }
  return undefined;
}

export const getSession = (req: Request): Session | null => readSessionToken(readCookie(req, SESSION_COOKIE));

export function requireSession(req: Request): Session {
  const session = getSession(req);
  if (!session) throw new AppError('unauthorized:session', 'Sign in with your wallet first.');
  return session;
}

/**
 * The route's `:userAddress` must be the signed-in user. A stranger's address answers 404,
 * like a missing record, so the API never confirms what another user has.
 */
export function requireSameUser(session: Session, userAddress: string, surface: string) {
  if (userAddress.toLowerCase() !== session.address.toLowerCase()) {
    throw new AppError(`not_found:${surface}`, 'Nothing found for this address.');
  }
}

function cookieAttributes(maxAge: number) {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAge}`];
  if (getConfig().secureCookies) attrs.push('Secure');
  return attrs.join('; ');
}

export const sessionCookie = (token: string) => `${SESSION_COOKIE}=${token}; ${cookieAttributes(SESSION_TTL_SECONDS)}`;
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; ${cookieAttributes(0)}`;
