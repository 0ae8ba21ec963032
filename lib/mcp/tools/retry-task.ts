import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { AppError } from '../../errors';
import { retryTask } from '../../tasks/retry-task';
import { toTaskDto } from '../../tasks/serialize';
import type { McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { isTaskId, taskIdInput } from './inputs';

export function registerRetryTaskTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'retry_task',
    {
      description:
        "Retry one of the user's failed tasks with the USDC already in its agent wallet; mints already done are not repeated. Refused when that USDC was withdrawn meanwhile.",
      inputSchema: taskIdInput,
      annotations: { title: 'Retry a failed task' },
      scope: 'cancel',
      verb: 'retry tasks',
    },
    async ({ taskId }, caller, use) => {
      if (!isTaskId(taskId)) throw new AppError('not_found:task', 'No such task.');
      use.taskId = taskId;
      return { task: toTaskDto(await retryTask({ taskId, userAddress: caller.userAddress })) };
    },
  );
}
