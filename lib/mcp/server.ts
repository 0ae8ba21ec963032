import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpContext } from './context';
import { registerTaskResource } from './task-resource';
import { registerCancelTaskTool } from './tools/cancel-task';
import { registerCreateMintTaskTool } from './tools/create-mint-task';
import { registerListTasksTool } from './tools/list-tasks';
import { registerQuoteTool } from './tools/quote';
import { registerRetryTaskTool } from './tools/retry-task';
import { registerTaskStatusTool } from './tools/task-status';
import { registerWalletTool } from './tools/wallet';
import { registerWithdrawTool } from './tools/withdraw';

const INSTRUCTIONS = `AgentMint buys many paid mints of a token for the user: they sign ONE USDC authorization in their own wallet, and a server-held agent wallet that belongs to them performs the mints; the tokens land in the user's wallet.
Typical flow: quote (what it costs) → create_mint_task → give the user the fundLink to sign in their wallet → task_status, or subscribe to the task's resource, until completed.
No tool accepts a signature or a private key: only the user's wallet signs, on the fund page. Amounts: "…Usdc" fields are USDC, the others are base units (6 decimals).
Without an assistant key only quote is available; the user creates a key on AgentMint's "Connect an assistant" page.`;

/**
 * The MCP server one session talks to, bound to its caller: `quote` for anyone; with an assistant
 * key, the tools that act for the key's user and task resources to follow. `close` ends the
 * session's task subscriptions; `onKeyGone` is told when a notification finds the key revoked.
 */
export function buildMcpServer(ctx: McpContext, { onKeyGone = () => {} }: { onKeyGone?: () => void } = {}) {
  const server = new McpServer(
    { name: 'agentmint', title: 'AgentMint', version: '1.0.0', websiteUrl: ctx.publicUrl },
    { capabilities: { resources: { subscribe: true, listChanged: false } }, instructions: INSTRUCTIONS },
  );
  registerQuoteTool(server, ctx);
  registerCreateMintTaskTool(server, ctx);
  registerTaskStatusTool(server, ctx);
  registerListTasksTool(server, ctx);
  registerCancelTaskTool(server, ctx);
  registerRetryTaskTool(server, ctx);
  registerWalletTool(server, ctx);
  registerWithdrawTool(server, ctx);
  const closeSubscriptions = registerTaskResource(server, ctx, onKeyGone);
  return {
    server,
    close: async () => {
      closeSubscriptions();
      await server.close();
    },
  };
}
