import { z } from 'zod';
import { TASK_STATUSES } from '@/db/schema';

// Input schemas an assistant reads to call the tools unaided: every field says what it is and
// where its value comes from. Ranges are checked by lib/tasks with clear refusals, not here, so
// the assistant gets a sentence it can relay rather than a schema error.

export const mintTargetInput = z.object({
  tokenAddress: z
    .string()
    .optional()
    .describe(
      'The PaidMintToken contract address (0x + 40 hex) the user gave. With `url`: the token the endpoint sells, only if the user named it. Never invent one.',
    ),
  url: z
    .string()
    .optional()
    .describe(
      'The URL of an x402 mint endpoint (https://…) exactly as the user wrote it, instead of a token contract.',
    ),
  quantity: z.number().describe('How many mints, a whole number from 1 to 1000.'),
});

export const taskIdInput = z.object({
  taskId: z.string().describe('The task id (a UUID) from create_mint_task or list_tasks.'),
});

export const listTasksInput = z.object({
  limit: z.number().int().optional().describe('How many of the newest tasks (1–20, default 5).'),
  status: z.enum(TASK_STATUSES).optional().describe('Only tasks in this status.'),
});

export const withdrawInput = z.object({
  amountUsdc: z
    .string()
    .optional()
    .describe(
      'How much USDC to send back, as a decimal string such as "2.5"; omit it to withdraw everything refundable. It always goes to the user\'s own wallet address, never anywhere else.',
    ),
});

export const isTaskId = (id: string) => z.uuid().safeParse(id).success;
