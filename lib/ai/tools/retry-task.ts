import { tool } from 'ai';
import { retryTask } from '../../tasks/retry-task';
import { toTaskDto } from '../../tasks/serialize';
import { toToolError } from './errors';
import { isTaskId, taskIdInput } from './get-task';
import type { ChatSession } from './session';

export const retryTaskTool = (session: ChatSession) =>
  tool({
    description: "Retry one of the signed-in user's failed tasks; mints already done are not repeated.",
    inputSchema: taskIdInput,
    execute: async ({ taskId }) => {
      if (!isTaskId(taskId)) return { error: 'not found' };
      try {
        return { task: toTaskDto(await retryTask({ taskId, userAddress: session.userAddress })) };
      } catch (error) {
        return toToolError(error, 'retryTask');
      }
    },
  });
