import { tool } from 'ai';
import { z } from 'zod';
import { createX402Task } from '../../tasks/create-x402-task';
import { toTaskDto } from '../../tasks/serialize';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const createX402TaskInput = z.object({
  url: z.string().describe('The x402 mint endpoint URL exactly as the user wrote it (https://…). Never invent one.'),
  // Any number: createX402Task checks the range with its own translated refusal (see create-mint-task).
  quantity: z.number().describe('How many mints (one paid request each), a whole number from 1 to 1000.'),
  tokenAddress: z.string().optional().describe('The token contract address, only if the user gave one (0x + 40 hex).'),
});

export const createX402TaskTool = (session: ChatSession) =>
  tool({
    description:
      'Create a task that buys mints from an x402 endpoint (an HTTP URL that answers 402 Payment Required): probes the endpoint without paying, checks its terms (network, USDC, price cap, https), and returns the task the user then funds with one signature. If it answers that the token is unknown, ask the user for the token address.',
    inputSchema: createX402TaskInput,
    execute: async ({ url, quantity, tokenAddress }) => {
      try {
        const task = await createX402Task({ userAddress: session.userAddress, url, quantity, tokenAddress });
        return {
          task: toTaskDto(task),
          token: { name: task.token.name, symbol: task.token.symbol },
          ...(task.sellerWarning && { sellerWarning: task.sellerWarning }),
        };
      } catch (error) {
        return toToolError(error, 'createX402Task');
      }
    },
  });
