import { NextRequest } from 'next/server';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '@/lib/config';
import { commonSecurityHeaders, pageCsp } from '@/lib/security-headers';
import { proxy } from '@/proxy';

// What proxy.ts sends; the e2e security spec checks the same against `next start` with the
// wallet flow running under it.

const local = parseConfig({ NODE_ENV: 'production' });
const prod = parseConfig({
  CHAIN: 'base',
  PUBLIC_URL: 'https://mint.example',
  METRICS_TOKEN: 't',
  RPC_URL: 'https://base.node.example/key-abc',
});

describe('security headers', () => {
  it('pages: nonce scripts only, no framing, connections to this origin and the browser RPC only', () => {
    const csp = pageCsp('abc123', local);
    expect(csp).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:8545;");
    expect(csp).toContain("frame-src 'none'");
    expect(csp).not.toContain('walletconnect');
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('on a hosted chain: the public RPC the browser uses (never the private RPC_URL), https upgrades, HSTS', () => {
    const csp = pageCsp('n', prod);
    expect(csp).toContain("connect-src 'self' https://mainnet.base.org;");
    expect(csp).not.toContain('base.node.example');
    expect(csp).toContain('upgrade-insecure-requests');
    expect(commonSecurityHeaders(prod)['strict-transport-security']).toBe('max-age=63072000');
    expect(commonSecurityHeaders(local)['strict-transport-security']).toBeUndefined();
  });

  it('allows WalletConnect hosts only when a project id is configured, and eval only under next dev', () => {
    const wc = pageCsp('n', parseConfig({ NEXT_PUBLIC_WALLETCONNECT_PROJECT_ID: 'p1' }));
    expect(wc).toMatch(/connect-src [^;]*wss:\/\/\*\.walletconnect\.org/);
    expect(wc).toContain('frame-src https://verify.walletconnect.com');
    expect(pageCsp('n', parseConfig({ NODE_ENV: 'development' }))).toContain("'unsafe-eval'");
  });

  it('proxy: a fresh nonce per page, handed to Next in the request; locked-down CSP on the API', () => {
    const page = proxy(new NextRequest('http://localhost:3000/tasks'));
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/'nonce-[A-Za-z0-9+/=]{20,}'/);
    expect(page.headers.get('x-middleware-request-content-security-policy')).toBe(csp);
    expect(proxy(new NextRequest('http://localhost:3000/tasks')).headers.get('content-security-policy')).not.toBe(csp);
    for (const res of [page, proxy(new NextRequest('http://localhost:3000/api/config'))]) {
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
    }
    expect(proxy(new NextRequest('http://localhost:3000/api/config')).headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    // And it still moves a client's x-forwarded-for aside (lib/client-ip.ts).
    const forwarded = proxy(
      new NextRequest('http://localhost:3000/api/config', { headers: { 'x-forwarded-for': '6.6.6.6' } }),
    );
    expect(forwarded.headers.get('x-middleware-request-x-agentmint-forwarded-for')).toBe('6.6.6.6');
  });
});
