import type { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { getLogger } from '../log';

// Streamable HTTP sessions of this web process. A session is stateful because a client may
// subscribe to task resources and be notified between its requests (on its GET stream), so its
// server, transport and subscriptions live here until the client ends it (DELETE), it idles
// out, or it is evicted. Behind several web processes a session lives in the one that created
// it; a request that reaches another gets 404 and the client starts a new session (MCP spec).

/** Open sessions per web process, and per assistant key (the oldest is closed to make room). */
export const MAX_SESSIONS = 500;
export const MAX_SESSIONS_PER_KEY = 10;
/** A session with no request for this long is closed (its GET stream too). */
export const SESSION_IDLE_MS = 30 * 60_000;
const SWEEP_EVERY_MS = 60_000;

export type McpSession = {
  id: string;
  /** The assistant key it was opened with; null: opened without a key (quote only). */
  keyId: string | null;
  transport: WebStandardStreamableHTTPServerTransport;
  close(): Promise<void>;
  lastSeen: number;
};

type Store = { sessions: Map<string, McpSession>; sweeper?: NodeJS.Timeout };
const holder = globalThis as unknown as { __agentMintMcpSessions?: Store };
const store = (): Store => (holder.__agentMintMcpSessions ??= { sessions: new Map() });

export function getMcpSession(id: string): McpSession | undefined {
  const session = store().sessions.get(id);
  if (session) session.lastSeen = Date.now();
  return session;
}

export async function closeMcpSession(id: string, why: string) {
  const session = store().sessions.get(id);
  if (!session) return;
  store().sessions.delete(id);
  getLogger().debug({ session: id, why }, 'mcp session closed');
  await session.close().catch(() => undefined);
}

const oldest = (sessions: Iterable<McpSession>) => [...sessions].sort((a, b) => a.lastSeen - b.lastSeen)[0];

async function sweep(now = Date.now()) {
  for (const s of [...store().sessions.values()])
    if (now - s.lastSeen > SESSION_IDLE_MS) await closeMcpSession(s.id, 'idle');
}

/** Makes room for one more session of `keyId`, closing the least recently used beyond the caps. */
export async function admitMcpSession(keyId: string | null) {
  await sweep();
  const all = store().sessions;
  const ofKey = [...all.values()].filter((s) => s.keyId === keyId);
  if (keyId !== null && ofKey.length >= MAX_SESSIONS_PER_KEY) await closeMcpSession(oldest(ofKey)!.id, 'key cap');
  if (all.size >= MAX_SESSIONS) await closeMcpSession(oldest(all.values())!.id, 'process cap');
}

export function addMcpSession(session: McpSession) {
  const held = store();
  held.sessions.set(session.id, session);
  if (!held.sweeper) {
    held.sweeper = setInterval(() => void sweep(), SWEEP_EVERY_MS);
    held.sweeper.unref();
  }
}

export const countMcpSessions = () => store().sessions.size;
