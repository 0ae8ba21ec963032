import { tool } from 'ai';
import { z } from 'zod';
import { TASK_STATUSES } from '@/db/schema';
import { listUserTasks } from '../../tasks/task-status';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const listTasksInput = z.object({
  limit: z.number().int().optional().describe('How many of the newest tasks to show (1–20, default 5).'),
  status: z.enum(TASK_STATUSES).optional().describe('Only tasks in this status.'),
});

export const listTasksTool = (session: ChatSession) =>
  tool({
    description: "List the signed-in user's mint tasks, newest first.",
    inputSchema: listTasksInput,
    execute: async ({ limit, status }) => {
      try {
        return { tasks: await listUserTasks({ userAddress: session.userAddress, limit, status }) };
      } catch (error) {
        return toToolError(error, 'listTasks');
      }
    },
  });
