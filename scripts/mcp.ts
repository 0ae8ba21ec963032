import pino from 'pino';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { closeDb } from '@/db/client';
import { authenticateAssistantKey } from '@/lib/assistant-keys/authenticate';
import { getConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { createLogger, setLogger } from '@/lib/log';
import { buildMcpServer } from '@/lib/mcp/server';

// `npm --silent run mcp`: AgentMint's MCP server over stdio, for an assistant on this machine.
// It runs against the same database and chain as the app (the running `npm start`, found through
// DATA_DIR/stack.json, or DATABASE_URL and the other variables). The assistant key comes from
// AGENTMINT_KEY (no key: `quote` only) and is checked again before every use. stdout carries the
// protocol alone: logs go to stderr.

setLogger(createLogger({ destination: pino.destination({ dest: 2, sync: true }) }));

async function main() {
  const config = getConfig();
  const token = process.env.AGENTMINT_KEY?.trim() || undefined;
  let caller = null;
  if (token) {
    try {
      caller = await authenticateAssistantKey(token);
    } catch (error) {
      console.error(`[agentmint mcp] ${isAppError(error) ? error.message : String(error)}`);
      process.exit(1);
    }
  }
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    await built.close().catch(() => undefined);
    await closeDb().catch(() => undefined);
    process.exit(code);
  };
  const built = buildMcpServer(
    {
      caller,
      publicUrl: config.publicUrl,
      recheckCaller: token ? async () => void (await authenticateAssistantKey(token)) : undefined,
    },
    { onKeyGone: () => void stop(1) },
  );
  const transport = new StdioServerTransport();
  transport.onclose = () => void stop();
  await built.server.connect(transport);
  process.stdin.on('end', () => void stop());
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  console.error(
    `[agentmint mcp] ready on stdio: ${caller ? `key "${caller.keyName}" of ${caller.userAddress}` : 'no key (quote only)'}, app ${config.publicUrl}`,
  );
}

main().catch((error) => {
  console.error('[agentmint mcp] failed to start', error);
  process.exit(1);
});
