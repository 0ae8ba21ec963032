import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { getDemoTokens } from '../chain/clients';
import type { KnownToken } from './offline/intent';
import { planTurn, type ChatToolCall, type TurnPlan } from './offline/plan';
import { composeFromResult, type ToolOutcome } from './offline/compose';
import { noFailedTasksText, sayText } from './offline/replies';

// The default chat model: no network, English and Chinese. It reads the conversation the AI
// SDK hands it, answers with tool calls exactly like a hosted model would, and once the tool
// results are in the prompt writes the final text from them.

const MAX_TOOL_ROUNDS = 3;
const ACTIVE = ['pending_payment', 'funded', 'processing'];
const LAST_TASK_QUERY = {
  getTask: { limit: 1 },
  cancelTask: { limit: 10 },
  retryTask: { limit: 1, status: 'failed' },
} as const;

const textOf = (content: Array<{ type: string; text?: string }>) =>
  content
    .filter((p) => p.type === 'text')
    .map((p) => p.text ?? '')
    .join('\n');

/** The user turns, and the tool calls and results that followed the newest one. */
function readPrompt(prompt: LanguageModelV3Prompt) {
  const userTexts: string[] = [];
  let outcomes: ToolOutcome[] = [];
  for (const message of prompt) {
    if (message.role === 'user') {
      userTexts.push(textOf(message.content));
      outcomes = [];
    } else if (message.role === 'assistant') {
      for (const part of message.content) {
        if (part.type === 'tool-call')
          outcomes.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
      }
    } else if (message.role === 'tool') {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const outcome = outcomes.find((o) => o.toolCallId === part.toolCallId);
        const output = part.output;
        const value = 'value' in output ? output.value : undefined;
        const result =
          output.type === 'json'
            ? value
            : output.type.startsWith('error')
              ? { error: typeof value === 'string' ? value : 'tool failed' }
              : { error: 'no result' };
        if (outcome) outcome.output = result;
      }
    }
  }
  return { userTexts, outcomes };
}

type Reply = { text: string } | { call: ChatToolCall };

export function decideReply(plan: TurnPlan, outcomes: ToolOutcome[]): Reply {
  const { action, lang } = plan;
  const done = outcomes.filter((o) => o.output !== undefined);
  if (done.length === 0) {
    if (action.kind === 'tool') return { call: action.call };
    if (action.kind === 'last') return { call: { toolName: 'listTasks', input: LAST_TASK_QUERY[action.toolName] } };
    return { text: sayText(action, lang) };
  }
  const last = done.at(-1)!;
  if (action.kind === 'last' && last.toolName === 'listTasks' && done.length < MAX_TOOL_ROUNDS) {
    const tasks = (last.output as { tasks?: Array<{ id: string; status: string }> }).tasks ?? [];
    // "Cancel the last task" means the newest one still running, not a finished one after it.
    const target =
      action.toolName === 'cancelTask' ? (tasks.find((t) => ACTIVE.includes(t.status)) ?? tasks[0]) : tasks[0];
    if (target) return { call: { toolName: action.toolName, input: { taskId: target.id } } };
    if (action.toolName === 'retryTask') return { text: noFailedTasksText(lang) };
  }
  return { text: composeFromResult(last, lang) };
}

export class OfflineChatModel implements LanguageModelV3 {
  readonly specificationVersion = 'v3';
  readonly provider = 'agentmint';
  readonly modelId = 'offline';
  readonly supportedUrls = {};

  constructor(private readonly tokens: () => KnownToken[] = getDemoTokens) {}

  private respond(options: LanguageModelV3CallOptions): LanguageModelV3Content[] {
    const { userTexts, outcomes } = readPrompt(options.prompt);
    const reply = decideReply(planTurn(userTexts, this.tokens()), outcomes);
    if ('text' in reply) return [{ type: 'text', text: reply.text }];
    return [
      {
        type: 'tool-call',
        toolCallId: `call_${randomUUID()}`,
        toolName: reply.call.toolName,
        input: JSON.stringify(reply.call.input),
      },
    ];
  }

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const content = this.respond(options);
    return {
      content,
      finishReason: finishOf(content),
      usage: USAGE,
      warnings: [],
      response: { id: randomUUID(), modelId: this.modelId, timestamp: new Date() },
    };
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const content = this.respond(options);
    const parts: LanguageModelV3StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', id: randomUUID(), modelId: this.modelId, timestamp: new Date() },
    ];
    for (const item of content) {
      if (item.type === 'text') {
        const id = randomUUID();
        parts.push({ type: 'text-start', id });
        for (const line of item.text.split(/(?<=\n)/)) parts.push({ type: 'text-delta', id, delta: line });
        parts.push({ type: 'text-end', id });
      } else if (item.type === 'tool-call') {
        parts.push({ type: 'tool-input-start', id: item.toolCallId, toolName: item.toolName });
        parts.push({ type: 'tool-input-delta', id: item.toolCallId, delta: item.input });
        parts.push({ type: 'tool-input-end', id: item.toolCallId });
        parts.push(item);
      }
    }
    parts.push({ type: 'finish', usage: USAGE, finishReason: finishOf(content) });
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    return { stream };
  }
}

const finishOf = (content: LanguageModelV3Content[]) =>
  content.some((c) => c.type === 'tool-call')
    ? ({ unified: 'tool-calls', raw: 'tool_calls' } as const)
    : ({ unified: 'stop', raw: 'stop' } as const);

const USAGE: LanguageModelV3Usage = {
  inputTokens: { total: 0, noCache: 0, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 0, text: 0, reasoning: 0 },
};
