import { randomBytes } from 'node:crypto';
import { NextResponse, type NextRequest } from 'next/server';
import { moveForwardedFor } from '@/lib/forwarded-for';
import { API_CSP, commonSecurityHeaders, pageCsp } from '@/lib/security-headers';

// Next 16's proxy (formerly middleware), in the Node.js runtime, on every request but static
// build files:
// - Route handlers cannot see the socket's address, and Next sets x-forwarded-for to it only
//   when a request brings none, so any client could name its own IP. Moving the header that
//   arrived aside lets Next fill in the socket; lib/client-ip.ts then trusts only
//   TRUSTED_PROXY_HOPS entries from the right of the whole chain.
// - Security headers on every page and API response, and a fresh CSP nonce per page
//   (lib/security-headers.ts; Next takes the nonce for its own scripts from the request's CSP).
export function proxy(req: NextRequest) {
  const requestHeaders = moveForwardedFor(req.headers);
  const isApi = req.nextUrl.pathname.startsWith('/api/');
  const csp = isApi ? API_CSP : pageCsp(randomBytes(16).toString('base64'));
  if (!isApi) requestHeaders.set('content-security-policy', csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  for (const [k, v] of Object.entries({ ...commonSecurityHeaders(), 'content-security-policy': csp }))
    response.headers.set(k, v);
  return response;
}

export const config = { matcher: ['/((?!_next/static|_next/image).*)'] };
