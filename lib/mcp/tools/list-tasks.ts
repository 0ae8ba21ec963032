import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { listUserTasks } from '../../tasks/task-status';
import type { McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { listTasksInput } from './inputs';

export function registerListTasksTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'list_tasks',
    {
      description:
        "The user's mint tasks, newest first: id, status, token, quantity, progress, cost (USDC base units).",
      inputSchema: listTasksInput,
      annotations: { title: 'List tasks', readOnlyHint: true },
      scope: 'read',
      verb: 'read tasks',
    },
    async ({ limit, status }, caller) => ({
      tasks: await listUserTasks({ userAddress: caller.userAddress, limit, status }),
    }),
  );
}
