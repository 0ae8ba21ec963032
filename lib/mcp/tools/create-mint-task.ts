import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { formatUnits } from 'viem';
import { dailyCapGuard } from '../../assistant-keys/spend-cap';
import { AppError } from '../../errors';
import { createMintTask } from '../../tasks/create-task';
import { createX402Task } from '../../tasks/create-x402-task';
import { toTaskDto } from '../../tasks/serialize';
import { fundLinkOf, taskResourceUri, type McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { mintTargetInput } from './inputs';

export function registerCreateMintTaskTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'create_mint_task',
    {
      description:
        "Create a mint task for the user: N paid mints of a PaidMintToken (tokenAddress) or from an x402 endpoint (url), checked as `quote` checks them, within this key's daily USDC cap. The task starts unpaid: give the user its fundLink, where they sign one USDC authorization in their own wallet (no assistant can sign it); then follow it with task_status or by subscribing to its resourceUri. Tokens go to the user's wallet.",
      inputSchema: mintTargetInput,
      annotations: { title: 'Create a mint task', openWorldHint: true },
      scope: 'create',
      verb: 'create tasks',
    },
    async ({ tokenAddress, url, quantity }, caller, use) => {
      if (!url && !tokenAddress)
        throw new AppError(
          'bad_request:task',
          'Say what to mint: a token contract address (0x…) or the URL of an x402 mint endpoint.',
        );
      const userAddress = caller.userAddress;
      const guard = dailyCapGuard(caller, 'create_mint_task');
      const created = url
        ? await createX402Task({ userAddress, url, quantity, tokenAddress, guard })
        : await createMintTask({ userAddress, tokenAddress: tokenAddress!, quantity, guard });
      // The guard logged this use, with the task and its cost, when it reserved the cap.
      use.logged = true;
      use.taskId = created.id;
      return {
        task: toTaskDto(created),
        token: { name: created.token.name, symbol: created.token.symbol },
        totalCostUsdc: formatUnits(BigInt(created.totalCost), 6),
        fundLink: fundLinkOf(ctx, created.id),
        resourceUri: taskResourceUri(created.id),
        // A seller that took payment without delivering before: tell the user before they fund it.
        ...('sellerWarning' in created && created.sellerWarning && { sellerWarning: created.sellerWarning }),
        nextStep:
          'Ask the user to open fundLink, sign in with their wallet and sign the one USDC authorization; the mints start as soon as it is funded.',
      };
    },
  );
}
