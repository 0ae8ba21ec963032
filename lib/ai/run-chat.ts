import { randomUUID } from 'node:crypto';
import {
  convertToModelMessages,
  InvalidToolInputError,
  modelMessageSchema,
  NoSuchToolError,
  stepCountIs,
  streamText,
  type UIMessageChunk,
} from 'ai';
import { z } from 'zod';
import { insertChatMessage, listChatMessagesByUser } from '@/db/chats';
import type { ChatMessage } from '@/db/schema';
import { getDemoTokens } from '../chain/clients';
import { getLogger } from '../log';
import type { TaskDto } from '../tasks/serialize';
import { getChatModel } from './model';
import { systemPrompt } from './prompt';
import { buildChatTools, type ChatSession, type ChatUIMessage } from './tools';

// One chat turn, behind both forms of POST /api/ai-agent/chat. The conversation comes from the
// database, never from the client, so a client cannot forge history; the user's message is
// stored before the model runs and the assistant's final UI message (tool parts included) after.

/** Earlier messages given to the model: enough for slot filling and follow-ups. */
const HISTORY_MESSAGES = 30;
/** Tool call → result → maybe a second tool → final text. */
const MAX_STEPS = 4;

const UNAVAILABLE = 'The assistant is unavailable right now. Please try again.';

export type ChatTurnEnd = { message: ChatUIMessage; reply: string; task?: TaskDto; failed: boolean };

export const toUIMessage = (row: ChatMessage): ChatUIMessage & { createdAt: string } => ({
  id: row.id,
  role: row.role,
  parts: row.parts as ChatUIMessage['parts'],
  createdAt: row.createdAt.toISOString(),
});

/** The task a turn created: the output of its last successful createMintTask or createX402Task part. */
export function createdTaskOf(message: ChatUIMessage): TaskDto | undefined {
  let task: TaskDto | undefined;
  for (const part of message.parts) {
    if (
      (part.type === 'tool-createMintTask' || part.type === 'tool-createX402Task') &&
      part.state === 'output-available' &&
      'task' in part.output
    )
      task = part.output.task;
  }
  return task;
}

export const replyTextOf = (message: ChatUIMessage) =>
  message.parts
    .flatMap((p) => (p.type === 'text' ? [p.text.trim()] : []))
    .filter(Boolean)
    .join('\n\n');

/**
 * Runs the agent for one user message. Returns the UI message stream (for `useChat`) and a
 * promise of the stored assistant message. The stream is teed and drained here, so the turn
 * finishes and is stored even when the client goes away mid-stream.
 */
export async function startChatTurn(session: ChatSession, text: string) {
  const { userAddress } = session;
  const history = await listChatMessagesByUser({ userAddress, limit: HISTORY_MESSAGES });
  // The same text again right after a turn that got no answer (a model outage, then "retry"):
  // answer that stored message instead of storing it twice.
  const unanswered =
    history.at(-1)?.role === 'user' && replyTextOf(toUIMessage(history.at(-1)!)) === text ? history.pop() : undefined;
  const prior = history.map(toUIMessage);
  const userMessage: ChatUIMessage = {
    id: unanswered?.id ?? randomUUID(),
    role: 'user',
    parts: [{ type: 'text', text }],
  };
  const userRow =
    unanswered ??
    (await insertChatMessage({ id: userMessage.id, userAddress, role: 'user', parts: userMessage.parts }));

  const tools = buildChatTools(session);
  const messages = await toModelMessages(prior, userMessage, tools);
  let failure: unknown;
  const result = streamText({
    model: getChatModel(),
    system: systemPrompt(userAddress, getDemoTokens()),
    messages,
    tools,
    stopWhen: stepCountIs(MAX_STEPS),
    // One retry: a person is waiting, and the default backoff (2 s, 4 s) would feel like a hang.
    maxRetries: 1,
    // Logged once, without the request body, by the UI stream's onError below.
    onError: () => {},
  });

  let settle!: (end: ChatTurnEnd) => void;
  const done = new Promise<ChatTurnEnd>((resolve) => (settle = resolve));
  const assistantId = randomUUID();
  const stream = result.toUIMessageStream<ChatUIMessage>({
    originalMessages: [...prior, userMessage],
    generateMessageId: () => assistantId,
    onError: (error) => {
      // A tool call the model got wrong keeps its own text (the model can correct itself); the rest is the model failing.
      const toolCallError = toolCallErrorText(error);
      if (toolCallError !== undefined) return toolCallError;
      // Called once more as the stream ends, with this reply wrapped in an Error: the first is the cause.
      if (failure === undefined) {
        failure = error;
        getLogger().warn(
          { err: error instanceof Error ? error.message.slice(0, 300) : String(error) },
          'chat model failed',
        );
      }
      return UNAVAILABLE;
    },
    onFinish: async ({ responseMessage }) => {
      const message = { ...responseMessage, id: assistantId };
      const task = createdTaskOf(message);
      try {
        if (message.parts.some((p) => p.type !== 'step-start')) {
          // Strictly after the user's message, so history order never depends on clock ties.
          const createdAt = new Date(Math.max(Date.now(), userRow.createdAt.getTime() + 1));
          await insertChatMessage({
            id: assistantId,
            userAddress,
            role: 'assistant',
            parts: message.parts,
            taskId: task?.id,
            createdAt,
          });
        }
      } catch (error) {
        getLogger().error(
          { err: error instanceof Error ? error.message : String(error) },
          'storing the assistant message failed',
        );
      }
      settle({ message, reply: replyTextOf(message), task, failed: failure !== undefined });
    },
  });

  const [toClient, toServer] = stream.tee();
  void drain(toServer).then(() =>
    // onFinish runs inside the stream's flush, so by now it has settled the turn unless the stream broke.
    settle({ message: { id: assistantId, role: 'assistant', parts: [] }, reply: '', failed: true }),
  );
  return { stream: toClient as ReadableStream<UIMessageChunk>, done };
}

/** History that no longer converts (a tool's shape changed since it was stored) is left out, not fatal. */
async function toModelMessages(
  prior: ChatUIMessage[],
  userMessage: ChatUIMessage,
  tools: ReturnType<typeof buildChatTools>,
) {
  try {
    const messages = await convertToModelMessages([...prior, userMessage], { tools, ignoreIncompleteToolCalls: true });
    // A malformed stored part converts without complaint; the model call would then refuse the whole prompt.
    z.array(modelMessageSchema).parse(messages);
    return messages;
  } catch (error) {
    getLogger().warn(
      { err: error instanceof Error ? error.message.slice(0, 300) : String(error) },
      'chat history skipped',
    );
    return convertToModelMessages([userMessage], { tools });
  }
}

/**
 * The text of a tool call the model got wrong (bad input, unknown tool): AI SDK 6 reports it as the
 * error object on the call and as its message on the call's result. Undefined for anything else.
 */
function toolCallErrorText(error: unknown): string | undefined {
  if (typeof error === 'string') return error;
  if (InvalidToolInputError.isInstance(error) || NoSuchToolError.isInstance(error)) return error.message;
  return undefined;
}

async function drain(stream: ReadableStream<unknown>) {
  const reader = stream.getReader();
  try {
    while (!(await reader.read()).done);
  } catch {
    // The turn's outcome is reported through onFinish; a broken branch has nothing to add.
  }
}
