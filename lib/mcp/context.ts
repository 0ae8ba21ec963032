import type { AssistantCaller } from '../assistant-keys/caller';

/**
 * What every MCP tool acts with: the key's caller (null: no key, `quote` only), where the app
 * is, and for a long-lived connection (stdio) how to check again, before each use, that the key
 * is still live (over HTTP every request authenticates anew).
 */
export type McpContext = {
  caller: AssistantCaller | null;
  publicUrl: string;
  recheckCaller?: () => Promise<void>;
};

/** The task page, where the user signs the task's one EIP-3009 authorization in their own wallet. */
export const fundLinkOf = (ctx: Pick<McpContext, 'publicUrl'>, taskId: string) => `${ctx.publicUrl}/tasks/${taskId}`;

export const taskResourceUri = (taskId: string) => `agentmint://tasks/${taskId}`;
