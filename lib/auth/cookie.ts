import { getConfig, type Config } from '../config';

// The session cookie's name and attributes. On an https origin it is a `__Host-` cookie: the
// browser then accepts it only with Secure, Path=/ and no Domain, so a sibling subdomain or a
// plain-http page cannot plant or overwrite it.

const BASE_NAME = 'agentmint_session';

type CookieConfig = Pick<Config, 'publicUrl' | 'secureCookies'>;

export const sessionCookieName = (config: CookieConfig = getConfig()) =>
  config.publicUrl.startsWith('https:') ? `__Host-${BASE_NAME}` : BASE_NAME;

/** The value of cookie `name`, or undefined when it is absent or not valid percent-encoding. */
export function readCookie(cookieHeader: string | null | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
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

function attributes(maxAgeSeconds: number, config: CookieConfig) {
  const attrs = ['Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
  // config.secureCookies is already true for an https origin (the __Host- prefix requires it).
  if (config.secureCookies) attrs.push('Secure');
  return attrs.join('; ');
}

export const sessionSetCookie = (value: string, maxAgeSeconds: number, config: CookieConfig = getConfig()) =>
  `${sessionCookieName(config)}=${value}; ${attributes(maxAgeSeconds, config)}`;
export const clearedSessionCookie = (config: CookieConfig = getConfig()) =>
  `${sessionCookieName(config)}=; ${attributes(0, config)}`;
