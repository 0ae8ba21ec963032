import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AppError } from '../../errors';
import { cancelTask } from '../../tasks/cancel-task';
import { toTaskDto } from '../../tasks/serialize';
import type { McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { isTaskId, taskIdInput } from './inputs';

export function registerCancelTaskTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'cancel_task',
    {
      description:
        "Cancel one of the user's tasks: awaiting payment or funded at once; minting after the batch in flight (cancelRequested). USDC it did not spend stays in the user's agent wallet.",
      inputSchema: taskIdInput,
      annotations: { title: 'Cancel a task', destructiveHint: true, idempotentHint: true },
      scope: 'cancel',
      verb: 'cancel tasks',
    },
    async ({ taskId }, caller, use) => {
      if (!isTaskId(taskId)) throw new AppError('not_found:task', 'No such task.');
      use.taskId = taskId;
      return { task: toTaskDto(await cancelTask({ taskId, userAddress: caller.userAddress })) };
    },
  );
}
