import type { InferUITools, UIDataTypes, UIMessage } from 'ai';
import { cancelTaskTool } from './cancel-task';
import { createMintTaskTool } from './create-mint-task';
import { createX402TaskTool } from './create-x402-task';
import { getAgentWalletTool } from './get-agent-wallet';
import { getTaskTool } from './get-task';
import { listTasksTool } from './list-tasks';
import { quoteTool } from './quote';
import { retryTaskTool } from './retry-task';
import type { ChatSession } from './session';

export type { ChatSession } from './session';

/** Every tool bound to the session user; the names are what the page renders (`tool-createMintTask`). */
export function buildChatTools(session: ChatSession) {
  return {
    quote: quoteTool(session),
    createMintTask: createMintTaskTool(session),
    createX402Task: createX402TaskTool(session),
    listTasks: listTasksTool(session),
    getTask: getTaskTool(session),
    cancelTask: cancelTaskTool(session),
    retryTask: retryTaskTool(session),
    getAgentWallet: getAgentWalletTool(session),
  };
}

export type ChatTools = ReturnType<typeof buildChatTools>;
export type ChatToolName = keyof ChatTools;
export type ChatUIMessage = UIMessage<unknown, UIDataTypes, InferUITools<ChatTools>>;
