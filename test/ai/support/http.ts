import { createSessionToken, SESSION_COOKIE } from '@/lib/auth/session';

export const BASE = 'http://localhost:3000';
export const cookieFor = (address: string) => `${SESSION_COOKIE}=${createSessionToken({ address, chainId: 31337 })}`;

type Handler<P> = (req: Request, ctx: { params: Promise<P> }) => Promise<Response>;

/** Calls a route handler as Next does. JSON responses are parsed; anything else is returned as text. */
export async function call<P>(
  handler: Handler<P>,
  path: string,
  params: P,
  init: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie) headers.cookie = init.cookie;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await handler(new Request(`${BASE}${path}`, { method: body ? 'POST' : 'GET', headers, body }), { params: Promise.resolve(params) });
  const text = await res.text();
  const isJson = res.headers.get('content-type')?.includes('json');
  return { res, status: res.status, body: isJson && text ? JSON.parse(text) : undefined, text } as {
    res: Response;
    status: number;
    body: any;
    text: string;
  };
}

/** The `data:` payloads of a server-sent-event body. */
export const sseEvents = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as Record<string, any>);
