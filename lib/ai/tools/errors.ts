import { isAppError } from '../../errors';
import { getLogger } from '../../log';

export type ToolError = { error: string; code?: string; details?: Record<string, unknown> };

/**
 * What a model (the chat's, or an assistant's over MCP) may see of a failure: our own 4xx
 * messages and their details (it can rephrase them and ask the user again), "not found" for
 * anything that is not the user's, and a bare apology otherwise.
 */
export function toToolError(error: unknown, tool: string): ToolError {
  if (isAppError(error) && error.kind === 'not_found') return { error: 'not found', code: error.code };
  if (isAppError(error) && error.status < 500)
    return { error: error.message, code: error.code, ...(error.details ? { details: error.details } : {}) };
  getLogger().error(
    { tool, err: error instanceof Error ? error.message.slice(0, 300) : String(error) },
    'chat tool failed',
  );
  return { error: 'The service could not complete this right now. Please try again shortly.' };
}
