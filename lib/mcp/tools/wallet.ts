import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { formatEther, formatUnits } from 'viem';
import { z } from 'zod';
import { getWalletView } from '../../wallets/wallet-view';
import type { McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';

export function registerWalletTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'wallet',
    {
      description:
        "The user's agent wallet (the server-held wallet that pays for their mints): its address, USDC and ETH balances, USDC reserved by running tasks, and USDC refundable now (what withdraw can send back).",
      inputSchema: z.object({}),
      annotations: { title: 'Agent wallet', readOnlyHint: true },
      scope: 'read',
      verb: 'read the wallet',
    },
    async (_input, caller) => {
      const wallet = await getWalletView(caller.userAddress);
      return {
        wallet,
        usdc: formatUnits(BigInt(wallet.usdcBalance), 6),
        eth: formatEther(BigInt(wallet.ethBalance)),
        reservedUsdc: formatUnits(BigInt(wallet.reservedUsdc), 6),
        refundableUsdc: formatUnits(BigInt(wallet.refundableUsdc), 6),
      };
    },
  );
}
