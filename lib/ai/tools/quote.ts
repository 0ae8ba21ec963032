import { tool } from 'ai';
import { z } from 'zod';
import { quoteMint, toQuoteDto } from '../../tasks/quote';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const quoteInput = z.object({
  tokenAddress: z
    .string()
    .optional()
    .describe(
      'The PaidMintToken contract address the user gave (0x + 40 hex), or with `url` the token it sells. Never invent one.',
    ),
  url: z.string().optional().describe('The x402 mint endpoint URL exactly as the user wrote it, instead of a token.'),
  // Any number: quoteMint checks the range with the same translated refusal as task creation.
  quantity: z.number().describe('How many mints, a whole number from 1 to 1000.'),
});

/** The price question ("how much would 50 mints cost?"): the same quote the MCP tool gives, and no task. */
export const quoteTool = (session: ChatSession) =>
  tool({
    description:
      'What N mints of a token (or from an x402 endpoint URL) would cost, with the same checks as creating a task, without creating one. Use it for price questions; create a task only when the user asks to mint.',
    inputSchema: quoteInput,
    execute: async (input) => {
      try {
        return { quote: toQuoteDto(await quoteMint({ ...input, userAddress: session.userAddress })) };
      } catch (error) {
        return toToolError(error, 'quote');
      }
    },
  });
