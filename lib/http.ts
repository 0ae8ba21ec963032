import { z } from 'zod';
import { checkJsonOrNoBody, checkSameOrigin, isJsonContentType, isStateChanging } from './auth/origin';
import { AppError, isAppError } from './errors';
import { getLogger } from './log';
import { HEX_ADDRESS } from './hex';

// The largest JSON body a route takes (a fund request: authorization and signature) is under 1 KB;
// 16 KiB leaves room and refuses a flood before it is parsed. The chat sets its own limit.
export const MAX_BODY_BYTES = 16 * 1024;

export function json(data: unknown, init: ResponseInit = {}): Response {
  return new Response(
    JSON.stringify(data, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    {
      ...init,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...init.headers },
    },
  );
}

export function errorResponse(error: AppError): Response {
  return json(error.toJSON(), { status: error.status, headers: error.headers });
}

type Handler<P> = (req: Request, ctx: { params: Promise<P> }) => Promise<Response>;

/**
 * Wraps a route handler: a state-changing request must come from PUBLIC_URL's pages (or a
 * non-browser client) with a JSON body or none (lib/auth/origin.ts), so no route can forget it.
 * AppErrors become their 4xx JSON, anything else is logged with its cause and answered with a
 * bare 500 that leaks no internals.
 */
export function route<P = Record<string, string>>(handler: Handler<P>): Handler<P> {
  return async (req, ctx) => {
    try {
      if (isStateChanging(req.method)) {
        checkSameOrigin(req);
        await checkJsonOrNoBody(req);
      }
      return await handler(req, ctx);
    } catch (error) {
      if (isAppError(error)) {
        if (error.status >= 500 || error.cause) {
          getLogger().warn(
            { code: error.code, cause: describeCause(error.cause), path: new URL(req.url).pathname },
            error.message,
          );
        }
        return errorResponse(error);
      }
      getLogger().error({ err: describeCause(error), path: new URL(req.url).pathname }, 'unhandled route error');
      return errorResponse(new AppError('internal', 'Something went wrong on our side. Please try again.'));
    }
  };
}

function describeCause(cause: unknown) {
  if (!cause) return undefined;
  if (cause instanceof Error) return { name: cause.name, message: cause.message.slice(0, 500) };
  return String(cause).slice(0, 500);
}

/** Validation errors as one readable sentence naming the fields. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export function parseWith<T extends z.ZodType>(schema: T, input: unknown, code: `bad_request:${string}`): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new AppError(code, describeZodError(parsed.error));
  return parsed.data;
}

/**
 * Reads a JSON body: JSON content type only, at most 16 KB (or `maxBytes`), then validated by
 * `schema`. `emptyAs` stands in for an empty body where the body is optional (then a request
 * with no body may also have no content type, as `curl -X POST` sends it).
 */
export async function readJson<T extends z.ZodType>(
  req: Request,
  schema: T,
  surface: string,
  { maxBytes = MAX_BODY_BYTES, emptyAs }: { maxBytes?: number; emptyAs?: unknown } = {},
): Promise<z.infer<T>> {
  const type = req.headers.get('content-type');
  const untyped = !type && emptyAs !== undefined;
  if (!untyped && !isJsonContentType(type)) throw notJson(surface);
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(surface, maxBytes);
  const text = await readLimited(req, surface, maxBytes);
  if (emptyAs !== undefined && !text.trim()) return parseWith(schema, emptyAs, `bad_request:${surface}`);
  if (untyped) throw notJson(surface);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError(`bad_request:${surface}`, 'The body is not valid JSON.');
  }
  return parseWith(schema, body, `bad_request:${surface}`);
}

const notJson = (surface: string) =>
  new AppError(`unsupported_media_type:${surface}`, 'Send the body as JSON with content-type: application/json.');

const tooLarge = (surface: string, maxBytes = MAX_BODY_BYTES) =>
  new AppError(`payload_too_large:${surface}`, `The body is larger than ${maxBytes / 1024} KB.`);

async function readLimited(req: Request, surface: string, maxBytes = MAX_BODY_BYTES): Promise<string> {
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(surface, maxBytes);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

export const uuidParam = z.uuid({ message: 'must be a UUID' });
export const addressParam = z.string().regex(HEX_ADDRESS, 'must be a 0x-prefixed 20-byte address');
export const limitParam = (fallback: number) =>
  z.coerce
    .number({ message: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(fallback);

/** `?limit=` validated to 1–100. */
export function readLimit(req: Request, fallback: number): number {
  const raw = new URL(req.url).searchParams.get('limit');
  return parseWith(z.object({ limit: limitParam(fallback) }), { limit: raw ?? undefined }, 'bad_request:limit').limit;
}
