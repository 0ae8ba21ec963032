import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { listChatMessagesByUser } from '@/db/chats';
import { getTaskById } from '@/db/tasks';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { call, cookieFor, sseEvents } from './support/http';

// A fake OpenAI-compatible server on loopback: the first completion asks for createMintTask,
// the next one answers with text built from the tool result it was sent back.

type ChatBody = {
  model: string;
  stream?: boolean;
  messages: Array<{ role: string; content?: unknown; tool_call_id?: string }>;
  tools?: Array<{ function: { name: string } }>;
};

let server: Server;
let stack: TestStack;
const requests: Array<{ path: string; auth?: string; body: ChatBody }> = [];
let token = '';
let failing = false;
let badInput = false;

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'fake-model', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

function answer(body: ChatBody): { toolCall?: { name: string; arguments: string }; text?: string } {
  const toolMessage = body.messages.at(-1)?.role === 'tool' ? body.messages.at(-1) : undefined;
  if (!toolMessage)
    return {
      toolCall: {
        name: 'createMintTask',
        arguments: JSON.stringify({ tokenAddress: token, quantity: badInput ? 'seven' : 7 }),
      },
    };
  let result: { task?: { id: string; totalCost: string } } = {};
  try {
    result = JSON.parse(String(toolMessage.content));
  } catch {
    return { text: `Sorry: ${String(toolMessage.content).slice(0, 40)}` };
  }
  if (!result?.task) return { text: `Sorry: ${String(toolMessage.content).slice(0, 60)}` };
  return { text: `Done: task ${result.task.id} costs ${result.task.totalCost} base units.` };
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = JSON.parse(await readBody(req)) as ChatBody;
    requests.push({ path: req.url ?? '', auth: req.headers.authorization, body });
    if (failing) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'model overloaded', type: 'server_error' } }));
      return;
    }
    const reply = answer(body);
    if (!body.stream) {
      const message = reply.toolCall
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: reply.toolCall }],
          }
        : { role: 'assistant', content: reply.text };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'c',
          object: 'chat.completion',
          created: 1,
          model: 'fake-model',
          choices: [{ index: 0, message, finish_reason: reply.toolCall ? 'tool_calls' : 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (reply.toolCall) {
      res.write(
        chunk({
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: reply.toolCall }],
        }),
      );
      res.write(chunk({}, 'tool_calls'));
    } else {
      res.write(chunk({ role: 'assistant', content: '' }));
      for (const piece of reply.text!.match(/.{1,12}/g)!) res.write(chunk({ content: piece }));
      res.write(chunk({}, 'stop'));
    }
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  stack = await startTestStack({
    env: { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, AI_MODEL: 'fake-model' },
  });
  token = stack.deployment.tokens[0]!.address;
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

const alice = user(1).address as Address;

describe('hosted model through an OpenAI-compatible server', () => {
  it('JSON form: the server’s tool call creates the task and its text is the reply', async () => {
    requests.length = 0;
    const response = await call(
      chatPOST as never,
      '/api/ai-agent/chat',
      {},
      { cookie: cookieFor(alice), body: { message: 'mint seven of the demo token please' } },
    );
    expect(response.status).toBe(200);
    const task = await getTaskById({ id: response.body.task.id });
    expect(task).toMatchObject({
      userAddress: alice.toLowerCase(),
      tokenAddress: token.toLowerCase(),
      quantity: 7,
      totalCost: '700000',
    });
    expect(response.body.reply).toBe(`Done: task ${task!.id} costs 700000 base units.`);

    expect(requests).toHaveLength(2);
    const [first, second] = requests;
    expect(first!.path).toBe('/v1/chat/completions');
    expect(first!.auth).toBe('Bearer sk-test-key');
    expect(first!.body.model).toBe('fake-model');
    expect(first!.body.tools!.map((t) => t.function.name).sort()).toEqual([
      'cancelTask',
      'createMintTask',
      'createX402Task',
      'getAgentWallet',
      'getTask',
      'listTasks',
      'quote',
      'retryTask',
    ]);
    const system = first!.body.messages.find((m) => m.role === 'system' || m.role === 'developer');
    expect(String(system?.content)).toContain(alice);
    expect(String(system?.content)).toContain(`DMT (Demo Mint Token): ${token}`);
    expect(String(system?.content)).toContain('✅ 任务创建成功！');
    expect(first!.body.messages.at(-1)).toMatchObject({ role: 'user', content: 'mint seven of the demo token please' });
    expect(second!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_1' });

    const stored = await listChatMessagesByUser({ userAddress: alice, limit: 10 });
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored[1]!.taskId).toBe(task!.id);
  });

  it('stream form: the UI stream carries the tool output and the streamed text', async () => {
    requests.length = 0;
    const body = { messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'again please' }] }] };
    const response = await call(chatPOST as never, '/api/ai-agent/chat', {}, { cookie: cookieFor(alice), body });
    expect(response.status).toBe(200);
    const events = sseEvents(response.text);
    const output = events.find((e) => e.type === 'tool-output-available')!.output;
    expect(output.task.quantity).toBe(7);
    expect(
      events
        .filter((e) => e.type === 'text-delta')
        .map((e) => e.delta)
        .join(''),
    ).toBe(`Done: task ${output.task.id} costs 700000 base units.`);
    // The second request carried the earlier turns from the database, not from the client.
    expect(requests[0]!.body.messages.filter((m) => m.role === 'user')).toHaveLength(2);
  });

  it('a model outage answers 503 without leaking the upstream error, and the next turn works', async () => {
    failing = true;
    try {
      const response = await call(
        chatPOST as never,
        '/api/ai-agent/chat',
        {},
        { cookie: cookieFor(alice), body: { message: 'mint 7 please' } },
      );
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('unavailable:chat');
      expect(response.text).not.toContain('overloaded');
    } finally {
      failing = false;
    }
    const ok = await call(
      chatPOST as never,
      '/api/ai-agent/chat',
      {},
      { cookie: cookieFor(alice), body: { message: 'mint 7 please' } },
    );
    expect(ok.status).toBe(200);
    // The retried message was answered, not stored a second time.
    const stored = await listChatMessagesByUser({ userAddress: alice, limit: 100 });
    expect(stored.filter((m) => JSON.stringify(m.parts).includes('mint 7 please'))).toHaveLength(1);
    expect(stored.at(-1)!.role).toBe('assistant');
  });

  it('invalid tool input reaches the model as an error it can answer; nothing is created', async () => {
    const before = (await listChatMessagesByUser({ userAddress: alice, limit: 100 })).length;
    badInput = true;
    try {
      const response = await call(
        chatPOST as never,
        '/api/ai-agent/chat',
        {},
        { cookie: cookieFor(alice), body: { message: 'mint seven' } },
      );
      expect(response.status).toBe(200);
      expect(response.body.task).toBeUndefined();
      expect(response.body.reply).toMatch(/^Sorry: .*(invalid|Invalid)/);
      expect(response.body.reply).not.toContain('unavailable');
    } finally {
      badInput = false;
    }
    const stored = await listChatMessagesByUser({ userAddress: alice, limit: 100 });
    expect(stored.length).toBe(before + 2);
    // The stored call keeps the validation error itself, not the "unavailable" apology.
    const parts = stored.at(-1)!.parts as Array<{ type: string; state?: string; errorText?: string }>;
    expect(parts.find((p) => p.type === 'tool-createMintTask')).toMatchObject({
      state: 'output-error',
      errorText: expect.stringMatching(/Invalid input for tool createMintTask/),
    });
  });
});
