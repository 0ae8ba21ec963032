import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { recordAssistantKeyUse } from '@/db/assistant-keys';
import { isAssistantKeyLive, requireScope } from '../assistant-keys/authenticate';
import { AppError } from '../errors';
import { getLogger } from '../log';
import { requireOwnedTask } from '../tasks/owned-task';
import { listUserTasks } from '../tasks/task-status';
import { subscribeTaskEvents } from '../tasks/task-events';
import { taskResourceUri, type McpContext } from './context';
import { describeTask } from './tools/task-status';
import { isTaskId } from './tools/inputs';

/** Tasks one MCP session may watch at once: each holds a listener in this process. */
export const MAX_SUBSCRIPTIONS = 20;
const URI = /^agentmint:\/\/tasks\/([0-9a-f-]{36})$/i;

/**
 * Task progress as MCP resources (`agentmint://tasks/{taskId}`): read one for its status, or
 * subscribe and receive `notifications/resources/updated` whenever its status or progress
 * changes (the same Postgres NOTIFY the task page's event stream follows), then read it again.
 * Returns what closes the subscriptions when the session ends.
 */
export function registerTaskResource(server: McpServer, ctx: McpContext, onKeyGone: () => void): () => void {
  const caller = ctx.caller;
  const subscriptions = new Map<string, () => void>();
  const closeAll = () => {
    for (const unsubscribe of subscriptions.values()) unsubscribe();
    subscriptions.clear();
  };
  if (!caller) return closeAll;

  server.registerResource(
    'task',
    new ResourceTemplate('agentmint://tasks/{taskId}', {
      list: async () => {
        if (!caller.scopes.has('read')) return { resources: [] };
        const tasks = await listUserTasks({ userAddress: caller.userAddress, limit: 10 });
        return {
          resources: tasks.map((t) => ({
            uri: taskResourceUri(t.id),
            name: `Task ${t.id.slice(0, 8)}: ${t.quantity} mints, ${t.status}`,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    {
      title: 'Mint task',
      description: "One of the user's mint tasks: status and progress. Subscribe to be told when it changes.",
      mimeType: 'application/json',
    },
    async (uri, { taskId }) => {
      await ctx.recheckCaller?.();
      requireScope(caller, 'read', 'read tasks');
      const described = await describeTask(ctx, String(taskId), caller.userAddress);
      await recordAssistantKeyUse({
        keyId: caller.keyId,
        action: 'read_task_resource',
        outcome: 'ok',
        taskId: described.task.id,
      });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(described, null, 2) }] };
    },
  );

  const taskIdOf = (uri: string) => {
    const id = URI.exec(uri)?.[1];
    if (!id || !isTaskId(id)) throw new AppError('not_found:task', `No such resource: ${uri}`);
    return id.toLowerCase();
  };

  const notify = async (uri: string) => {
    // Between requests nothing else re-checks the key: a revoked or expired one ends the session.
    if (!(await isAssistantKeyLive(caller.keyId))) return onKeyGone();
    await server.server.sendResourceUpdated({ uri });
  };

  server.server.setRequestHandler(SubscribeRequestSchema, async ({ params }) => {
    await ctx.recheckCaller?.();
    requireScope(caller, 'read', 'follow tasks');
    const taskId = taskIdOf(params.uri);
    await requireOwnedTask({ taskId, userAddress: caller.userAddress });
    const uri = taskResourceUri(taskId);
    if (subscriptions.has(uri)) return {};
    if (subscriptions.size >= MAX_SUBSCRIPTIONS)
      throw new AppError('rate_limited:subscriptions', `At most ${MAX_SUBSCRIPTIONS} tasks can be followed at once.`);
    const send = () =>
      void notify(uri).catch((e: unknown) =>
        getLogger().warn({ err: e instanceof Error ? e.message : String(e), taskId }, 'mcp resource update not sent'),
      );
    subscriptions.set(uri, await subscribeTaskEvents(taskId, { onEvent: send, onResync: send }));
    await recordAssistantKeyUse({ keyId: caller.keyId, action: 'subscribe_task', outcome: 'ok', taskId });
    return {};
  });

  server.server.setRequestHandler(UnsubscribeRequestSchema, async ({ params }) => {
    const uri = params.uri;
    subscriptions.get(uri)?.();
    subscriptions.delete(uri);
    return {};
  });
  return closeAll;
}
