import { startSession } from '@/lib/auth/session';

export const BASE = 'http://localhost:3000';

/** A real signed-in session (a row in auth_sessions), as the `name=value` pair a browser sends. */
export const cookieFor = async (address: string) =>
  (await startSession({ address, chainId: 31337 })).setCookie.split(';')[0]!;
/** Just the cookie's value, for code that reads it by name (next/headers cookies()). */
export const sessionValueFor = async (address: string) => (await cookieFor(address)).split('=').slice(1).join('=');

export type Cookie = string | Promise<string>;

type Handler<P> = (req: Request, ctx: { params: Promise<P> }) => Promise<Response>;

/**
 * Calls a route handler the way Next does, with an optional session cookie and JSON body.
 * JSON responses are parsed into `body`; every response's text is in `text`.
 */
export async function call<P>(
  handler: Handler<P>,
  path: string,
  params: P,
  init: {
    method?: string;
    cookie?: Cookie;
    body?: unknown;
    headers?: Record<string, string>;
    /** Sent as `curl -X POST` sends it: no body and no content type. */
    bodiless?: boolean;
  } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  const cookie = await init.cookie;
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (init.body !== undefined) body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const method = init.method ?? (body ? 'POST' : 'GET');
  // Like the web client (lib/web/api.ts), every POST says JSON, with or without a body.
  if (method !== 'GET' && !init.bodiless) headers['content-type'] ??= 'application/json';
  const res = await handler(new Request(`${BASE}${path}`, { method, headers, body }), {
    params: Promise.resolve(params),
  });
  const text = await res.text();
  const isJson = res.headers.get('content-type')?.includes('json');
  return { res, status: res.status, body: isJson && text ? JSON.parse(text) : undefined, text } as {
    res: Response;
    status: number;
    body: any;
    text: string;
  };
}
