import { beforeEach, describe, expect, it } from 'vitest';
import { createSiweMessage } from 'viem/siwe';
import { GET as nonceGET } from '@/app/api/auth/nonce/route';
import { POST as verifyPOST } from '@/app/api/auth/verify/route';
import { POST as logoutPOST } from '@/app/api/auth/logout/route';
import { POST as logoutAllPOST } from '@/app/api/auth/logout-all/route';
import { GET as sessionGET } from '@/app/api/auth/session/route';
import { GET as tasksGET } from '@/app/api/ai-agent/tasks/[userAddress]/route';
import { GET as walletGET } from '@/app/api/ai-agent/wallet/[userAddress]/route';
import { clearedSessionCookie, sessionCookieName, sessionSetCookie } from '@/lib/auth/cookie';
import { SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS, sessionFromCookie } from '@/lib/auth/session';
import { parseConfig } from '@/lib/config';
import { resetRateLimits } from '@/lib/rate-limit';
import { user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { call, cookieFor } from '../support/routes';

const stack = useTestStack();
beforeEach(() => resetRateLimits());

const alice = user(1);
const bob = user(2);
const HOUR = 3600_000;

/** A real sign-in: nonce, EIP-4361 message signed by `account`, verify → the cookie pair. */
async function signIn(account: ReturnType<typeof user>): Promise<string> {
  const { nonce } = (await call(nonceGET as never, '/api/auth/nonce', {})).body;
  const message = createSiweMessage({
    domain: 'localhost:3000',
    address: account.address,
    uri: 'http://localhost:3000',
    version: '1',
    chainId: 31337,
    nonce,
    issuedAt: new Date(),
  });
  const response = await call(
    verifyPOST as never,
    '/api/auth/verify',
    {},
    { body: { message, signature: await account.signMessage({ message }) } },
  );
  expect(response.status).toBe(200);
  return response.res.headers.get('set-cookie')!.split(';')[0]!;
}

const post = (handler: unknown, path: string, cookie?: string) =>
  call(handler as never, path, {}, { method: 'POST', cookie, body: {}, headers: { origin: 'http://localhost:3000' } });

/** Everything a stolen cookie would be used for: the session, the task list, the wallet. */
async function reads(cookie: string, address: string) {
  return [
    (await call(sessionGET as never, '/api/auth/session', {}, { cookie })).status,
    (await call(tasksGET as never, `/api/ai-agent/tasks/${address}`, { userAddress: address }, { cookie })).status,
    (await call(walletGET as never, `/api/ai-agent/wallet/${address}`, { userAddress: address }, { cookie })).status,
  ];
}

describe('server-side sessions', () => {
  it('logout revokes the session: the same cookie, kept and replayed, reads nothing', async () => {
    const cookie = await signIn(alice);
    expect(await reads(cookie, alice.address)).toEqual([200, 200, 200]);
    const out = await post(logoutPOST, '/api/auth/logout', cookie);
    expect(out.status).toBe(200);
    expect(out.res.headers.get('set-cookie')).toMatch(/^agentmint_session=; .*Max-Age=0/);
    expect(await reads(cookie, alice.address)).toEqual([401, 401, 401]);
    // Logging out again (or with no session) is harmless.
    expect((await post(logoutPOST, '/api/auth/logout', cookie)).status).toBe(200);
  });

  it('sign out everywhere revokes every session of the user and no one else’s', async () => {
    const [laptop, phone, bobs] = [await signIn(alice), await signIn(alice), await signIn(bob)];
    const out = await post(logoutAllPOST, '/api/auth/logout-all', phone);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ ok: true, revoked: 2 });
    expect(out.res.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect(await reads(laptop, alice.address)).toEqual([401, 401, 401]);
    expect(await reads(phone, alice.address)).toEqual([401, 401, 401]);
    expect(await reads(bobs, bob.address)).toEqual([200, 200, 200]);
    // It needs a live session, and a new sign-in works afterwards.
    const again = await post(logoutAllPOST, '/api/auth/logout-all', laptop);
    expect(again.status).toBe(401);
    expect(await reads(await signIn(alice), alice.address)).toEqual([200, 200, 200]);
  });

  it('ends after a day without use, slides on use, and never outlives a week', async () => {
    const value = (await cookieFor(alice.address)).split('=')[1]!;
    const start = Date.now();
    const at = (hours: number) => sessionFromCookie(value, new Date(start + hours * HOUR));
    // Used every 20 hours: each use pushes the end a day ahead of it...
    for (let h = 20; h < 24 * 7; h += 20) {
      const session = await at(h);
      expect(session, `at ${h} h`).not.toBeNull();
      expect(session!.expiresAt * 1000).toBeLessThanOrEqual(start + SESSION_MAX_SECONDS * 1000);
    }
    // ...but a week after sign-in it is over anyway.
    expect(await at(24 * 7 + 1)).toBeNull();

    const idle = (await cookieFor(alice.address)).split('=')[1]!;
    expect(await sessionFromCookie(idle, new Date(Date.now() + (SESSION_IDLE_SECONDS + 60) * 1000))).toBeNull();
  });

  it('refuses a cookie with a valid-looking token that this server did not sign, and one it never stored', async () => {
    const value = (await cookieFor(alice.address)).split('=')[1]!;
    const [token, mac] = value.split('.');
    expect(await sessionFromCookie(`${token}.${mac!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`)).toBeNull();
    expect(await sessionFromCookie(`${token}x.${mac}`)).toBeNull();
    expect(await sessionFromCookie(`${value}.extra`)).toBeNull();
  });

  it('uses a __Host- Secure cookie on an https origin', () => {
    const https = parseConfig({ PUBLIC_URL: 'https://mint.example' });
    expect(sessionCookieName(https)).toBe('__Host-agentmint_session');
    expect(sessionSetCookie('v', 60, https)).toBe(
      '__Host-agentmint_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure',
    );
    expect(clearedSessionCookie(https)).toMatch(/^__Host-agentmint_session=; .*Max-Age=0; Secure$/);
    const local = parseConfig({});
    expect(sessionCookieName(local)).toBe('agentmint_session');
    expect(sessionSetCookie('v', 60, local)).not.toContain('Secure');
  });
});
