import { tool } from 'ai';
import { z } from 'zod';
import { getWalletView } from '../../wallets/wallet-view';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const getAgentWalletTool = (session: ChatSession) =>
  tool({
    description:
      "Show the signed-in user's AI agent wallet: its address, USDC and ETH balances, USDC reserved by running tasks and USDC the user can withdraw.",
    inputSchema: z.object({}),
    execute: async () => {
      try {
        return { wallet: await getWalletView(session.userAddress) };
      } catch (error) {
        return toToolError(error, 'getAgentWallet');
      }
    },
  });
