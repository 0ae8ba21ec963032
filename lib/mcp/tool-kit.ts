import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { recordAssistantKeyUse } from '@/db/assistant-keys';
import { requireScope } from '../assistant-keys/authenticate';
import type { AssistantCaller } from '../assistant-keys/caller';
import type { AssistantKeyScope } from '../assistant-keys/scopes';
import { isAppError } from '../errors';
import { getLogger } from '../log';
import { toToolError } from '../ai/tools/errors';
import type { McpContext } from './context';

/** Filled in by a tool as it works: the task it touched, and whether it logged its own use (task creation does). */
export type ToolUse = { taskId?: string; logged?: boolean };

type ToolSpec<S extends z.ZodObject> = {
  description: string;
  inputSchema: S;
  annotations?: ToolAnnotations;
};

const asResult = (data: object, isError = false): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(data, null, 2) }],
  structuredContent: data as Record<string, unknown>,
  ...(isError ? { isError: true } : {}),
});

/**
 * The JSON a failure shows the assistant: our own 4xx messages and details (it can rephrase them
 * and ask the user again), "not found" for anything that is not the user's, a bare apology for
 * the rest — the chat's rule (lib/ai/tools/errors.ts), so both surfaces say the same.
 */
const errorResult = (error: unknown, tool: string) => asResult({ error: toToolError(error, `mcp:${tool}`) }, true);

async function logUse(caller: AssistantCaller, action: string, use: ToolUse, error?: unknown) {
  if (use.logged) return;
  const outcome = error === undefined ? 'ok' : isAppError(error) && error.status < 500 ? 'refused' : 'error';
  await recordAssistantKeyUse({
    keyId: caller.keyId,
    action,
    outcome,
    taskId: use.taskId,
    errorCode: error === undefined ? undefined : isAppError(error) ? error.code : 'internal',
  }).catch((e: unknown) =>
    getLogger().error({ err: e instanceof Error ? e.message : String(e), action }, 'assistant key use not logged'),
  );
}

/** A tool anyone may call, with or without a key (`quote`). */
export function registerOpenTool<S extends z.ZodObject>(
  server: McpServer,
  ctx: McpContext,
  name: string,
  spec: ToolSpec<S>,
  run: (input: z.infer<S>, use: ToolUse) => Promise<object>,
) {
  server.registerTool(name, spec, (async (input: z.infer<S>) => {
    const use: ToolUse = {};
    try {
      const data = await run(input, use);
      if (ctx.caller) await logUse(ctx.caller, name, use);
      return asResult(data);
    } catch (error) {
      if (ctx.caller) await logUse(ctx.caller, name, use, error);
      return errorResult(error, name);
    }
  }) as never);
}

/**
 * A tool that acts for the key's user: registered only when there is a key; refused (as a tool
 * error naming the scope) when the key lacks `scope`. Every call is logged on the key.
 */
export function registerKeyedTool<S extends z.ZodObject>(
  server: McpServer,
  ctx: McpContext,
  name: string,
  spec: ToolSpec<S> & { scope: AssistantKeyScope; verb: string },
  run: (input: z.infer<S>, caller: AssistantCaller, use: ToolUse) => Promise<object>,
) {
  const caller = ctx.caller;
  if (!caller) return;
  const { scope, verb, ...tool } = spec;
  server.registerTool(name, { ...tool, description: `${tool.description} (Needs the "${scope}" scope.)` }, (async (
    input: z.infer<S>,
  ) => {
    const use: ToolUse = {};
    try {
      await ctx.recheckCaller?.();
      requireScope(caller, scope, verb);
      const data = await run(input, caller, use);
      await logUse(caller, name, use);
      return asResult(data);
    } catch (error) {
      await logUse(caller, name, use, error);
      return errorResult(error, name);
    }
  }) as never);
}
