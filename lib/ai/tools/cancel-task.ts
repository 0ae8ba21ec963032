import { tool } from 'ai';
import { cancelTask } from '../../tasks/cancel-task';
import { toTaskDto } from '../../tasks/serialize';
import { toToolError } from './errors';
import { isTaskId, taskIdInput } from './get-task';
import type { ChatSession } from './session';

export const cancelTaskTool = (session: ChatSession) =>
  tool({
    description:
      "Cancel one of the signed-in user's tasks (awaiting payment or funded: at once; minting: after the current batch). Unspent USDC stays in the user's agent wallet.",
    inputSchema: taskIdInput,
    execute: async ({ taskId }) => {
      if (!isTaskId(taskId)) return { error: 'not found' };
      try {
        return { task: toTaskDto(await cancelTask({ taskId, userAddress: session.userAddress })) };
      } catch (error) {
        return toToolError(error, 'cancelTask');
      }
    },
  });
