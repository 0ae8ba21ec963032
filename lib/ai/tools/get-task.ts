import { tool } from 'ai';
import { z } from 'zod';
import { getTaskStatus } from '../../tasks/task-status';
import { toToolError } from './errors';
import type { ChatSession } from './session';

export const taskIdInput = z.object({
  taskId: z.string().describe('The task id (a UUID) exactly as shown to the user; use listTasks to find it.'),
});

export const isTaskId = (id: string) => z.uuid().safeParse(id).success;

export const getTaskTool = (session: ChatSession) =>
  tool({
    description: "Show one of the signed-in user's tasks: status, progress, cost.",
    inputSchema: taskIdInput,
    execute: async ({ taskId }) => {
      // A malformed id and another user's id look the same: not found.
      if (!isTaskId(taskId)) return { error: 'not found' };
      try {
        const { task } = await getTaskStatus({ taskId, userAddress: session.userAddress });
        return { task };
      } catch (error) {
        return toToolError(error, 'getTask');
      }
    },
  });
