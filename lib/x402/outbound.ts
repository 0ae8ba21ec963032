import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { getConfig } from '@/lib/config';
import { blockedAddressRange, type BlockedRange } from './address-policy';

// The only way AgentMint's server fetches a URL a user gave it (x402 probes and payments).
// The address check runs inside the socket's DNS lookup, on the addresses it then connects to,
// so a name that resolves to a public address for a check and to 127.0.0.1 for the connection
// (DNS rebinding) is still refused. Redirects are never followed; time and size are capped.
//
// Hosts in X402_ALLOWED_HOSTS skip the address check and may use plain http: they are named by
// the operator (the local demo endpoint on 127.0.0.1 has no certificate), not by a user.

export type OutboundFailure =
  | 'bad_url' // not an http(s) URL, or credentials in it
  | 'not_https' // http:// to a host the operator has not allowed
  | 'blocked_address' // resolves to a loopback, private, link-local, metadata… address
  | 'dns' // the name does not resolve
  | 'redirect' // 3xx: redirects are not followed
  | 'too_large' // the response exceeded maxBytes
  | 'timeout'
  | 'network'; // connection refused/reset, TLS failure

/**
 * A fetch refused or failed. `requestSent` is false only when no byte of the request can have
 * reached the server (refused before connecting, or the connection never opened): a payment in
 * a request that failed with `requestSent` true may still settle.
 */
export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundFailure,
    message: string,
    readonly details: {
      host?: string;
      range?: BlockedRange;
      status?: number;
      location?: string | null;
      requestSent: boolean;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundError';
  }
  get requestSent() {
    return this.details.requestSent;
  }
}

export type SafeFetchOptions = {
  method?: string;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  timeoutMs?: number;
  maxBytes?: number;
  signal?: AbortSignal;
  /** Defaults to X402_ALLOWED_HOSTS. Entries are `host` or `host:port`, compared lower-case. */
  allowedHosts?: readonly string[];
};

// Connections are kept alive and reused per host: a task sends hundreds of paid requests to one
// endpoint, and a fresh TCP (and TLS) handshake for each costs both sides CPU and a round trip.
// The address check holds for reused sockets too: it ran when the socket connected, on the
// address it connected to. An idle socket is closed after X402_IDLE_SOCKET_MS (the agent's
// `timeout` applies to sockets in its free list), so connections to sellers a task has finished
// with do not stay open for as long as the seller keeps them.
let agents: { 'http:': http.Agent; 'https:': https.Agent } | undefined;

function agentFor(protocol: 'http:' | 'https:') {
  if (!agents) {
    const timeout = getConfig().x402.idleSocketMs;
    agents = {
      'http:': new http.Agent({ keepAlive: true, maxSockets: 32, timeout }),
      'https:': new https.Agent({ keepAlive: true, maxSockets: 32, timeout }),
    };
  }
  return agents[protocol];
}

/** Idle keep-alive sockets to sellers, per protocol (for tests and metrics). */
export function idleSocketCount(): number {
  if (!agents) return 0;
  return Object.values(agents).reduce(
    (n, agent) => n + Object.values(agent.freeSockets).reduce((m, list) => m + (list?.length ?? 0), 0),
    0,
  );
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Whether the operator allowed this URL's host (by name, or by name and port). */
export function isAllowedHost(url: URL, allowedHosts: readonly string[] = getConfig().x402.allowedHosts): boolean {
  const host = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => entry === host || entry === `${host}:${port}`);
}

/** Parses and vets a user-given URL before anything is sent; throws OutboundError. */
export function checkOutboundUrl(raw: string | URL, allowedHosts?: readonly string[]): { url: URL; allowed: boolean } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundError('bad_url', 'not a valid URL', { requestSent: false });
  }
  const host = url.hostname;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OutboundError('bad_url', `${url.protocol} URLs are not fetched`, { host, requestSent: false });
  }
  if (url.username || url.password)
    throw new OutboundError('bad_url', 'URLs with credentials are not fetched', { host, requestSent: false });
  const allowed = isAllowedHost(url, allowedHosts);
  if (!allowed && url.protocol !== 'https:') {
    throw new OutboundError('not_https', `${host} is not https`, { host, requestSent: false });
  }
  // An IP literal is connected to without a lookup, so it is judged here.
  const literal = host.replace(/^\[|\]$/g, '');
  const range = !allowed && isIP(literal) ? blockedAddressRange(literal) : undefined;
  if (range)
    throw new OutboundError('blocked_address', `${host} is a ${range} address`, { host, range, requestSent: false });
  return { url, allowed };
}

/** dns.lookup that refuses, at connect time, names resolving to any blocked address. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as dns.LookupAddress[];
    const blocked = list.map((a) => ({ a, range: blockedAddressRange(a.address) })).find((x) => x.range);
    if (blocked) {
      const refusal = new OutboundError('blocked_address', `${hostname} resolves to a ${blocked.range} address`, {
        host: hostname,
        range: blocked.range,
        requestSent: false,
      });
      return callback(refusal as NodeJS.ErrnoException, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    const [first] = list;
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

/**
 * Fetches `url` once: no redirects, `timeoutMs` (default 10 s) for the whole exchange, at most
 * `maxBytes` (default 1 MiB) of body. Returns a standard Response for any non-3xx status;
 * throws OutboundError otherwise.
 */
export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<Response> {
  const { url: target, allowed } = checkOutboundUrl(url, options.allowedHosts);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const host = target.host;
  const headers = Object.fromEntries(new Headers(options.headers).entries());
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  if (body) headers['content-length'] = String(body.length);
  const transport = target.protocol === 'https:' ? https : http;

  return new Promise<Response>((resolve, reject) => {
    let connected = false;
    let settled = false;
    const fail = (error: OutboundError) => {
      if (settled) return;
      settled = true;
      cleanup();
      request.destroy();
      reject(error);
    };
    const request = transport.request(target, {
      method: options.method ?? 'GET',
      headers,
      agent: agentFor(target.protocol as 'http:' | 'https:'),
      lookup: allowed ? undefined : guardedLookup,
    });
    const timer = setTimeout(
      () =>
        fail(
          new OutboundError('timeout', `${host} did not answer within ${timeoutMs} ms`, {
            host,
            requestSent: connected,
          }),
        ),
      timeoutMs,
    );
    const onAbort = () =>
      fail(new OutboundError('timeout', `request to ${host} aborted`, { host, requestSent: connected }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    const cleanup = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    // Request bytes go out only once the connection (and TLS) is up.
    const ready = target.protocol === 'https:' ? 'secureConnect' : 'connect';
    request.on('socket', (socket) => {
      // A reused keep-alive socket is connected already: the request goes out at once.
      if (!socket.connecting) connected = true;
      else socket.once(ready, () => (connected = true));
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error instanceof OutboundError) return fail(error);
      const reason: OutboundFailure = error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' ? 'dns' : 'network';
      fail(
        new OutboundError(
          reason,
          `${host}: ${error.code ?? error.message}`,
          { host, requestSent: connected },
          { cause: error },
        ),
      );
    });
    request.on('response', (incoming) => {
      const status = incoming.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        incoming.resume();
        return fail(
          new OutboundError('redirect', `${host} redirects (${status}); redirects are not followed`, {
            host,
            status,
            location: incoming.headers.location ?? null,
            requestSent: true,
          }),
        );
      }
      const declared = Number(incoming.headers['content-length'] ?? 0);
      const tooLarge = () =>
        new OutboundError('too_large', `${host} answered more than ${maxBytes} bytes`, {
          host,
          status,
          requestSent: true,
        });
      if (declared > maxBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return fail(tooLarge());
        chunks.push(chunk);
      });
      incoming.on('error', (error) =>
        fail(
          new OutboundError(
            'network',
            `${host}: ${error.message}`,
            { host, status, requestSent: true },
            { cause: error },
          ),
        ),
      );
      incoming.on('end', () => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve(toResponse(status, incoming.headers, Buffer.concat(chunks)));
      });
    });
    request.end(body);
  });
}

function toResponse(status: number, raw: http.IncomingHttpHeaders, body: Buffer): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const nullBody = status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : new Uint8Array(body), { status, headers });
}

/**
 * A `fetch` with safeFetch's rules, for libraries that take one (`@x402/fetch`'s
 * wrapFetchWithPayment calls it with a Request).
 */
export function createSafeFetch(
  defaults: Omit<SafeFetchOptions, 'method' | 'headers' | 'body' | 'signal'> = {},
): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return safeFetch(request.url, {
      ...defaults,
      method: request.method,
      headers: request.headers,
      body,
      signal: request.signal,
    });
  }) as typeof fetch;
}
