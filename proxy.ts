import { NextResponse, type NextRequest } from 'next/server';
import { moveForwardedFor } from '@/lib/forwarded-for';

// Route handlers cannot see the socket's address, and Next sets x-forwarded-for to it only when
// a request brings none, so any client could name its own IP. Moving the header that arrived
// aside lets Next fill in the socket; lib/client-ip.ts then trusts only TRUSTED_PROXY_HOPS
// entries from the right of the whole chain.
export function proxy(req: NextRequest) {
  return NextResponse.next({ request: { headers: moveForwardedFor(req.headers) } });
}

export const config = { matcher: '/api/:path*' };
