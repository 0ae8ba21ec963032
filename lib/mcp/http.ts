import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { authenticateAssistantKey } from '../assistant-keys/authenticate';
import type { AssistantCaller } from '../assistant-keys/caller';
import { bearerToken } from '../assistant-keys/tokens';
import { checkSameOrigin } from '../auth/origin';
import { getConfig } from '../config';
import { AppError, isAppError } from '../errors';
import { json } from '../http';
import { getLogger } from '../log';
import { enforceRateLimits, ipRateLimit } from '../rate-limit';
import { bearerChallenge } from './protected-resource';
import { buildMcpServer } from './server';
import { addMcpSession, admitMcpSession, closeMcpSession, getMcpSession } from './sessions';

/** JSON-RPC messages in one POST: an assistant's calls are small, 256 KB is plenty. */
const MAX_BODY_BYTES = 256 * 1024;
const KEY_LIMIT = { limit: 300, windowMs: 60_000 };
const ANONYMOUS_LIMIT = { limit: 60, windowMs: 60_000 };
/** Every request from one address, checked before its key is looked up (a dead key's retries cost a query each). */
const IP_LIMIT = { limit: 600, windowMs: 60_000 };

const rpcError = (status: number, message: string, headers: Record<string, string> = {}) =>
  json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }, { status, headers });

/**
 * The caller of a request: null without an `Authorization` header (quote only); otherwise the
 * key must be a live assistant key, else 401 with a `WWW-Authenticate` challenge.
 */
async function callerOf(req: Request, publicUrl: string): Promise<AssistantCaller | null> {
  const token = bearerToken(req.headers.get('authorization'));
  if (token === undefined) return null;
  const challenge = (code: 'invalid_token' | 'invalid_request', description: string) =>
    new AppError('unauthorized:assistant_key', description, {
      headers: { 'WWW-Authenticate': bearerChallenge(publicUrl, { code, description }) },
    });
  if (token === null) throw challenge('invalid_request', 'Send the assistant key as "Authorization: Bearer amk_…".');
  try {
    return await authenticateAssistantKey(token);
  } catch (error) {
    if (isAppError(error) && error.kind === 'unauthorized') throw challenge('invalid_token', error.message);
    throw error;
  }
}

async function readBody(req: Request): Promise<unknown> {
  if (Number(req.headers.get('content-length') ?? '0') > MAX_BODY_BYTES)
    throw new AppError('payload_too_large:mcp', `The body is larger than ${MAX_BODY_BYTES / 1024} KB.`);
  const text = await new Response(req.body).text();
  if (text.length > MAX_BODY_BYTES)
    throw new AppError('payload_too_large:mcp', `The body is larger than ${MAX_BODY_BYTES / 1024} KB.`);
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('bad_request:mcp', 'The body is not valid JSON-RPC.');
  }
}

/**
 * `/mcp`, MCP's Streamable HTTP transport (the official SDK's web-standard transport): POST
 * carries JSON-RPC, GET opens the session's notification stream, DELETE ends the session. Every
 * request is authenticated again (a revoked key stops at once) and must carry the key its
 * session was opened with.
 */
export async function handleMcpRequest(req: Request): Promise<Response> {
  const publicUrl = getConfig().publicUrl;
  try {
    // A browser page of another site must not drive a local assistant's session (DNS rebinding).
    checkSameOrigin(req);
    await enforceRateLimits([ipRateLimit('mcp_ip', req, IP_LIMIT)]);
    const caller = await callerOf(req, publicUrl);
    if (req.method === 'POST') {
      await enforceRateLimits([
        caller ? { key: `mcp:key:${caller.keyId}`, ...KEY_LIMIT } : ipRateLimit('mcp', req, ANONYMOUS_LIMIT),
      ]);
    }
    const sessionId = req.headers.get('mcp-session-id');
    if (sessionId) {
      const session = getMcpSession(sessionId);
      if (!session || session.keyId !== (caller?.keyId ?? null)) return rpcError(404, 'Session not found.');
      return await session.transport.handleRequest(req);
    }
    if (req.method !== 'POST') return rpcError(400, 'Start a session with an initialize request first.');
    const body = await readBody(req);
    if (!isInitializeRequest(body)) return rpcError(400, 'Start a session with an initialize request first.');
    return await startSession(req, body, caller, publicUrl);
  } catch (error) {
    if (isAppError(error)) return json(error.toJSON(), { status: error.status, headers: error.headers });
    getLogger().error({ err: error instanceof Error ? error.message : String(error) }, 'mcp request failed');
    return rpcError(500, 'Something went wrong on our side. Please try again.');
  }
}

async function startSession(req: Request, body: unknown, caller: AssistantCaller | null, publicUrl: string) {
  await admitMcpSession(caller?.keyId ?? null);
  let id: string | undefined;
  const built = buildMcpServer({ caller, publicUrl }, { onKeyGone: () => id && void closeMcpSession(id, 'key gone') });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    maxRequestBodySize: MAX_BODY_BYTES,
    onsessioninitialized: (sessionId) => {
      id = sessionId;
      addMcpSession({
        id: sessionId,
        keyId: caller?.keyId ?? null,
        transport,
        close: built.close,
        lastSeen: Date.now(),
      });
    },
    onsessionclosed: (sessionId) => void closeMcpSession(sessionId, 'client ended it'),
  });
  await built.server.connect(transport);
  return transport.handleRequest(req, { parsedBody: body });
}
