import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { quoteMint, toQuoteDto } from '../../tasks/quote';
import type { McpContext } from '../context';
import { registerOpenTool } from '../tool-kit';
import { mintTargetInput } from './inputs';

export function registerQuoteTool(server: McpServer, ctx: McpContext) {
  registerOpenTool(
    server,
    ctx,
    'quote',
    {
      description:
        'What N paid mints would cost, before anything is created: give a PaidMintToken contract address (tokenAddress) or the URL of an x402 mint endpoint (url), and the quantity. Answers the token, the price per mint and the total in USDC (amounts as base units and as USDC), or why AgentMint cannot mint it (unknown token, too few mints left, endpoint not x402, price above the cap, task below the minimum value). Creates nothing and needs no key.',
      inputSchema: mintTargetInput,
      annotations: { title: 'Quote mints', readOnlyHint: true, openWorldHint: true },
    },
    async (input) => ({ quote: toQuoteDto(await quoteMint({ ...input, userAddress: ctx.caller?.userAddress })) }),
  );
}
