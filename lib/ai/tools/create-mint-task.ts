import { tool } from 'ai';
import { z } from 'zod';
import { createMintTask } from '../../tasks/create-task';
import { toTaskDto } from '../../tasks/serialize';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const createMintTaskInput = z.object({
  tokenAddress: z
    .string()
    .describe('The PaidMintToken contract address the user gave (0x + 40 hex). Never invent one.'),
  // Any number: createMintTask checks the range and answers with its own clear, translated
  // refusal. `.int()` here would reject 1e21 (unsafe integer) with the AI SDK's internal error.
  quantity: z.number().describe('How many mints, a whole number from 1 to 1000.'),
});

export const createMintTaskTool = (session: ChatSession) =>
  tool({
    description:
      'Create a mint task for the signed-in user: validates the token on chain (contract, paid-mint interface, supply, signer), reads the price, and returns the task the user then funds with one signature.',
    inputSchema: createMintTaskInput,
    execute: async ({ tokenAddress, quantity }) => {
      try {
        const task = await createMintTask({ userAddress: session.userAddress, tokenAddress, quantity });
        return { task: toTaskDto(task), token: { name: task.token.name, symbol: task.token.symbol } };
      } catch (error) {
        return toToolError(error, 'createMintTask');
      }
    },
  });
