import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { getAddress } from 'viem';
import { createSiweMessage } from 'viem/siwe';
import { insertAuthNonce } from '@/db/auth-nonces';
import { GET as nonceGET } from '@/app/api/auth/nonce/route';
import { POST as verifyPOST } from '@/app/api/auth/verify/route';
import { POST as logoutPOST } from '@/app/api/auth/logout/route';
import { GET as sessionGET } from '@/app/api/auth/session/route';
import { AUTH_LIMIT as AUTH_LIMITS } from '@/app/api/auth/limits';
import { resetRateLimits } from '@/lib/rate-limit';
import { startTestStack, type TestStack } from '../support/stack';
import { user } from '../support/fixtures';
import { deployOwnerWallet } from '../support/contract-wallet';
import { call } from '../support/routes';

let stack: TestStack;
beforeAll(async () => {
  // PUBLIC_URL unset, as on a fresh local install: its default (http://localhost:3000, what npm
  // start serves) must still decide the domain, never the request's Host header.
  stack = await startTestStack({ env: { PUBLIC_URL: '' } });
});
afterAll(async () => stack?.stop());
beforeEach(() => resetRateLimits());

const AUTH_LIMIT = AUTH_LIMITS.limit;
const alice = user(1);
const mallory = user(2);

async function freshNonce(headers: Record<string, string> = {}): Promise<string> {
  const { status, body } = await call(nonceGET as never, '/api/auth/nonce', {}, { headers });
  expect(status).toBe(200);
  return body.nonce;
}

function message(nonce: string, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) {
  return createSiweMessage({
    domain: 'localhost:3000',
    address: alice.address,
    statement: 'Sign in to AgentMint',
    uri: 'http://localhost:3000',
    version: '1',
    chainId: 31337,
    nonce,
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 5 * 60_000),
    ...overrides,
  });
}

const verify = (body: unknown, headers: Record<string, string> = {}) =>
  call(verifyPOST as never, '/api/auth/verify', {}, { body, headers });

describe('Sign-In with Ethereum', () => {
  it('signs in with an anvil account, shows the session, and logs out', async () => {
    const msg = message(await freshNonce());
    const signature = await alice.signMessage({ message: msg });
    const { res, status, body } = await verify({ message: msg, signature });
    expect(status).toBe(200);
    expect(body).toEqual({ address: alice.address, chainId: 31337 });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^agentmint_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+/);
    const cookie = setCookie.split(';')[0]!;

    const session = await call(sessionGET as never, '/api/auth/session', {}, { cookie });
    expect(session.status).toBe(200);
    expect(session.body.address).toBe(alice.address);

    const out = await call(logoutPOST as never, '/api/auth/logout', {}, { method: 'POST', cookie });
    expect(out.status).toBe(200);
    expect(out.res.headers.get('set-cookie')).toMatch(/^agentmint_session=; .*Max-Age=0/);
  });

  it('answers 401 without a session or with a tampered cookie', async () => {
    expect((await call(sessionGET as never, '/api/auth/session', {})).status).toBe(401);
    const tampered = await call(
      sessionGET as never,
      '/api/auth/session',
      {},
      { cookie: 'agentmint_session=eyJhIjoxfQ.bad' },
    );
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.code).toBe('unauthorized:session');
  });

  it('refuses a replayed nonce', async () => {
    const msg = message(await freshNonce());
    const signature = await alice.signMessage({ message: msg });
    expect((await verify({ message: msg, signature })).status).toBe(200);
    const replay = await verify({ message: msg, signature });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('unauthorized:siwe_nonce');
    expect(replay.res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses the same nonce presented twice at once: exactly one wins', async () => {
    const msg = message(await freshNonce());
    const signature = await alice.signMessage({ message: msg });
    const results = await Promise.all([1, 2, 3].map(() => verify({ message: msg, signature })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
  });

  it('refuses a nonce the server never issued, and an expired one', async () => {
    const unknown = message('abcdef0123456789abcdef0123456789');
    const r1 = await verify({ message: unknown, signature: await alice.signMessage({ message: unknown }) });
    expect(r1.body.error.code).toBe('unauthorized:siwe_nonce');

    await insertAuthNonce({ nonce: 'expired0123456789', expiresAt: new Date(Date.now() - 1000) });
    const stale = message('expired0123456789');
    const r2 = await verify({ message: stale, signature: await alice.signMessage({ message: stale }) });
    expect(r2.status).toBe(401);
    expect(r2.body.error.code).toBe('unauthorized:siwe_nonce');
  });

  it.each([
    ['a message for another domain', { domain: 'evil.example' }, 'unauthorized:siwe_domain'],
    [
      'an expired message',
      { expirationTime: new Date(Date.now() - 1000), issuedAt: new Date(Date.now() - 60_000) },
      'unauthorized:siwe_expired',
    ],
    ['another chain id', { chainId: 1 }, 'unauthorized:siwe_chain'],
    ['a message not valid yet', { notBefore: new Date(Date.now() + 60_000) }, 'unauthorized:siwe_not_yet_valid'],
  ])('refuses %s with 401', async (_name, overrides, code) => {
    const nonce = await freshNonce();
    const msg = message(nonce, overrides);
    const { status, body } = await verify({ message: msg, signature: await alice.signMessage({ message: msg }) });
    expect(status).toBe(401);
    expect(body.error.code).toBe(code);
    // The nonce survives a refused attempt, so the user can still sign a correct message.
    const good = message(nonce);
    expect((await verify({ message: good, signature: await alice.signMessage({ message: good }) })).status).toBe(200);
  });

  it('refuses a message signed for another site replayed with that site as Host (PUBLIC_URL decides, not the request)', async () => {
    const msg = message(await freshNonce(), { domain: 'evil.example', uri: 'https://evil.example' });
    const signature = await alice.signMessage({ message: msg });
    const hosts: Record<string, string>[] = [
      { host: 'evil.example' },
      { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
    ];
    for (const headers of hosts) {
      const replay = await verify({ message: msg, signature }, headers);
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe('unauthorized:siwe_domain');
      expect(replay.res.headers.get('set-cookie')).toBeNull();
    }
    // Our own message is accepted whatever Host a proxy forwards.
    const good = message(await freshNonce());
    expect(
      (
        await verify(
          { message: good, signature: await alice.signMessage({ message: good }) },
          { host: 'internal:3000' },
        )
      ).status,
    ).toBe(200);
  });

  it.each([
    ['a uri on another origin', { uri: 'https://evil.example/login' }, 'unauthorized:siwe_uri'],
    ['a uri on another port', { uri: 'http://localhost:3001' }, 'unauthorized:siwe_uri'],
    [
      'an issuedAt older than a nonce lives',
      { issuedAt: new Date(Date.now() - 11 * 60_000) },
      'unauthorized:siwe_issued_at',
    ],
    ['an issuedAt in the future', { issuedAt: new Date(Date.now() + 10 * 60_000) }, 'unauthorized:siwe_issued_at'],
  ])('refuses %s', async (_name, overrides, code) => {
    const msg = message(await freshNonce(), overrides);
    const { status, body, res } = await verify({ message: msg, signature: await alice.signMessage({ message: msg }) });
    expect(status).toBe(401);
    expect(body.error.code).toBe(code);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('accepts a uri with a path on our origin and a client clock a little ahead', async () => {
    const msg = message(await freshNonce(), {
      uri: 'http://localhost:3000/tasks',
      issuedAt: new Date(Date.now() + 60_000),
    });
    expect((await verify({ message: msg, signature: await alice.signMessage({ message: msg }) })).status).toBe(200);
  });

  it('treats a malformed cookie as no session (401, not 500)', async () => {
    for (const cookie of ['agentmint_session=%E0%A4%A', 'agentmint_session=%', 'other=1; agentmint_session=%E0%A4%A']) {
      const response = await call(sessionGET as never, '/api/auth/session', {}, { cookie });
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthorized:session');
    }
  });

  it('signs in a contract wallet through ERC-1271, and refuses a signer it does not accept', async () => {
    const contract = await deployOwnerWallet(stack.anvil.url, user(9), alice.address);
    const msg = message(await freshNonce(), { address: contract });
    const byStranger = await verify({ message: msg, signature: await mallory.signMessage({ message: msg }) });
    expect(byStranger.body.error.code).toBe('unauthorized:siwe_signature');
    const byOwner = await verify({ message: msg, signature: await alice.signMessage({ message: msg }) });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body.address).toBe(getAddress(contract));
  });

  it('refuses a signature by another account and a malformed one', async () => {
    const msg = message(await freshNonce());
    const byMallory = await verify({ message: msg, signature: await mallory.signMessage({ message: msg }) });
    expect(byMallory.status).toBe(401);
    expect(byMallory.body.error.code).toBe('unauthorized:siwe_signature');
    const garbage = await verify({ message: msg, signature: '0x1234' });
    expect(garbage.status).toBe(401);
    expect(garbage.body.error.code).toBe('unauthorized:siwe_signature');
    const notSiwe = await verify({ message: 'hello', signature: '0x1234' });
    expect(notSiwe.status).toBe(401);
    expect(notSiwe.body.error.code).toBe('unauthorized:siwe_message');
  });

  it('takes JSON bodies only, at most 16 KB, with both fields', async () => {
    expect((await verify('message=x', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await verify({ message: 'x'.repeat(17 * 1024), signature: '0x00' })).status).toBe(413);
    const missing = await verify({ message: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('bad_request:auth');
    expect((await verify('{not json')).status).toBe(400);
  });

  it('rate-limits sign-in per IP with 429 and Retry-After', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' };
    for (let i = 0; i < 30; i++)
      expect((await call(nonceGET as never, '/api/auth/nonce', {}, { headers })).status).toBe(200);
    const limited = await call(nonceGET as never, '/api/auth/nonce', {}, { headers });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:auth');
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Another client is unaffected.
    expect(
      (await call(nonceGET as never, '/api/auth/nonce', {}, { headers: { 'x-forwarded-for': '203.0.113.8' } })).status,
    ).toBe(200);
  });

  it('gives clients without a proxy-named IP one shared, larger bucket', async () => {
    for (let i = 0; i < 40; i++) expect((await call(nonceGET as never, '/api/auth/nonce', {})).status).toBe(200);
  });

  it('requests naming an address without its signature do not lock its owner out', async () => {
    // Twice the per-address allowance, each from its own IP so no per-IP limit interferes: a
    // message naming alice signed by mallory, one with a malformed signature, and alice's own
    // signed message replayed after its nonce was spent.
    const used = message(await freshNonce({ 'x-forwarded-for': '198.51.100.250' }));
    const usedSignature = await alice.signMessage({ message: used });
    expect((await verify({ message: used, signature: usedSignature })).status).toBe(200);
    for (let i = 0; i < 2 * AUTH_LIMIT; i++) {
      const ip = { 'x-forwarded-for': `198.51.100.${i}` };
      const msg = message(await freshNonce(ip));
      const body =
        i % 3 === 0
          ? { message: msg, signature: await mallory.signMessage({ message: msg }) }
          : i % 3 === 1
            ? { message: msg, signature: `0x${'22'.repeat(65)}` }
            : { message: used, signature: usedSignature };
      const response = await verify(body, ip);
      expect(response.status).toBe(401);
    }
    const msg = message(await freshNonce());
    const signedIn = await verify({ message: msg, signature: await alice.signMessage({ message: msg }) });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.address).toBe(alice.address);
  });

  it('still limits sign-ins an address really signed, whatever IP they come from', async () => {
    for (let i = 0; i < AUTH_LIMIT; i++) {
      const ip = { 'x-forwarded-for': `198.51.100.${i}` };
      const msg = message(await freshNonce(ip));
      expect((await verify({ message: msg, signature: await alice.signMessage({ message: msg }) }, ip)).status).toBe(
        200,
      );
    }
    const ip = { 'x-forwarded-for': '198.51.100.200' };
    const msg = message(await freshNonce(ip));
    const limited = await verify({ message: msg, signature: await alice.signMessage({ message: msg }) }, ip);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited:auth');
    expect(limited.res.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another address is unaffected.
    const other = message(await freshNonce(ip), { address: mallory.address });
    expect(
      (await verify({ message: other, signature: await mallory.signMessage({ message: other }) }, ip)).status,
    ).toBe(200);
  });
});
