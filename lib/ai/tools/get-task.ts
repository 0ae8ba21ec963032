import { tool } from 'ai';
import { z } from 'zod';
import { getTaskByIdForUser } from '@/db/tasks';
import { toTaskDto } from '../../tasks/serialize';
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
      try {
        // A malformed id and another user's id look the same: not found.
        const task = isTaskId(taskId)
          ? await getTaskByIdForUser({ id: taskId, userAddress: session.userAddress })
          : undefined;
        return task ? { task: toTaskDto(task) } : { error: 'not found' };
      } catch (error) {
        return toToolError(error, 'getTask');
      }
    },
  });
