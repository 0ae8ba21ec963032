import { eq } from 'drizzle-orm';
import { validateUIMessages } from 'ai';
import type { Address } from 'viem';
import { beforeEach, describe, expect, it } from 'vitest';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { GET as historyGET } from '@/app/api/ai-agent/history/[userAddress]/route';
import { insertChatMessage, listChatMessagesByUser } from '@/db/chats';
import { getDb } from '@/db/client';
import { aiAgentTasks } from '@/db/schema';
import { getWalletByUser } from '@/db/wallets';
import type { ChatUIMessage } from '@/lib/ai/tools';
import { resetRateLimits } from '@/lib/rate-limit';
import { user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { call, cookieFor, sseEvents } from './support/http';

const stack = useTestStack({ env: { CHAT_RATE_LIMIT_PER_MINUTE: '8' } });
beforeEach(() => resetRateLimits());

const [alice, bob, carol, dave, erin] = [1, 2, 3, 4, 5].map((i) => user(i).address) as [
  Address,
  Address,
  Address,
  Address,
  Address,
];
const dmt = () => stack.deployment.tokens[0]!.address;
const apx = () => stack.deployment.tokens[1]!.address;
const short = (a: string) => `${a.slice(0, 6)}...${a.slice(-4)}`;

const chat = (as: string, body: unknown, headers?: Record<string, string>) =>
  call(chatPOST as never, '/api/ai-agent/chat', {}, { cookie: cookieFor(as), body, headers });
const history = (of: string, as?: string, query = '') =>
  call(
    historyGET as never,
    `/api/ai-agent/history/${of}${query}`,
    { userAddress: of },
    { cookie: as ? cookieFor(as) : undefined },
  );
const tasksOf = (address: string) =>
  getDb().select().from(aiAgentTasks).where(eq(aiAgentTasks.userAddress, address.toLowerCase()));

describe('POST /api/ai-agent/chat — JSON form', () => {
  it('creates a task on chain data and replies in the seed layout (English)', async () => {
    const response = await chat(alice, { userAddress: alice, message: `mint 100 tokens at ${dmt()}` });
    expect(response.status).toBe(200);
    const agent = (await getWalletByUser({ userAddress: alice }))!.agentAddress;
    const [row] = await tasksOf(alice);
    expect(row).toMatchObject({
      tokenAddress: dmt().toLowerCase(),
      quantity: 100,
      pricePerMint: '100000',
      totalCost: '10000000',
      status: 'pending_payment',
      chainId: 31337,
    });
    expect(response.body.task).toMatchObject({
      id: row!.id,
      quantity: 100,
      totalCost: '10000000',
      status: 'pending_payment',
    });
    expect(response.body.task.agentAddress.toLowerCase()).toBe(agent);
    expect(response.body.reply).toContain('✅ Task created!');
    expect(response.body.reply).toContain(`Token: ${short(dmt())} (DMT)`);
    expect(response.body.reply).toMatch(/Quantity: 100 mints\nUnit price: 0\.1 USDC\/mint\nTotal cost: 10 USDC/);
    expect(response.body.reply.toLowerCase()).toContain(agent);
    expect(response.body.reply).toContain(`Task ID: ${row!.id}`);
  });

  it('answers in Chinese with Chinese numerals and the contract’s own price', async () => {
    const response = await chat(alice, { message: `帮我 mint ${apx()} 五十 次` });
    expect(response.status).toBe(200);
    expect(response.body.reply).toContain('✅ 任务创建成功！');
    expect(response.body.reply).toMatch(/数量: 50 次\n单价: 0\.25 USDC\/mint\n总成本: 12\.5 USDC/);
    expect(response.body.reply).toContain(`任务ID: ${response.body.task.id}`);
    expect(response.body.task).toMatchObject({ quantity: 50, pricePerMint: '250000', totalCost: '12500000' });
  });

  it('completes the seed dialogue from stored history: quantity first, address next', async () => {
    const first = await chat(bob, { message: '我想 mint 100 个 token' });
    expect(first.body.reply).toContain('请告诉我 token 地址');
    expect(first.body.task).toBeUndefined();
    expect(await tasksOf(bob)).toHaveLength(0);
    const second = await chat(bob, { message: dmt() });
    expect(second.body.reply).toContain('✅ 任务创建成功！');
    expect(second.body.task.quantity).toBe(100);
    expect(await tasksOf(bob)).toHaveLength(1);
  });

  it('refuses what the chain says is not mintable, creating nothing', async () => {
    const before = (await tasksOf(carol)).length;
    const eoa = await chat(carol, { message: `mint 5 of ${bob}` });
    expect(eoa.body.reply).toContain('no contract');
    const notPaidMint = await chat(carol, { message: `帮我 mint ${stack.deployment.usdc} 5 次` });
    expect(notPaidMint.body.reply).toContain('不是付费 mint 代币');
    const tooMany = await chat(carol, { message: `mint 1001 of ${dmt()}` });
    expect(tooMany.body.reply).toContain('from 1 to 1000');
    expect(await tasksOf(carol)).toHaveLength(before);
  });

  it('refuses a quantity beyond a safe integer with the same translated refusal, not the SDK validation error', async () => {
    const before = (await tasksOf(carol)).length;
    for (const digits of ['1000000000000000000000', '9'.repeat(400)]) {
      const en = await chat(carol, { message: `mint ${digits} of ${dmt()}` });
      expect(en.status).toBe(200);
      expect(en.body.reply).toContain('Quantity must be a whole number from 1 to 1000');
      expect(en.body.reply).not.toMatch(/AI_|Invalid input|9007199254740991/);
      const zh = await chat(carol, { message: `帮我 mint ${dmt()} ${digits} 次` });
      expect(zh.body.reply).toContain('数量必须是 1 到 1000 之间的整数');
    }
    expect(await tasksOf(carol)).toHaveLength(before);
  });
});

describe('POST /api/ai-agent/chat — useChat stream form', () => {
  it('streams UI message chunks with the tool output and stores both messages', async () => {
    const body = {
      id: 'chat-1',
      trigger: 'submit-message',
      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: `mint 3 of ${dmt()}` }] }],
    };
    const response = await chat(dave, body);
    expect(response.status).toBe(200);
    expect(response.res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(response.text);
    expect(events.find((e) => e.type === 'tool-input-available')).toMatchObject({
      toolName: 'createMintTask',
      input: { tokenAddress: dmt(), quantity: 3 },
    });
    const output = events.find((e) => e.type === 'tool-output-available')!.output;
    const [row] = await tasksOf(dave);
    expect(output.task.id).toBe(row!.id);
    expect(
      events
        .filter((e) => e.type === 'text-delta')
        .map((e) => e.delta)
        .join(''),
    ).toContain('Total cost: 0.3 USDC');

    const stored = await listChatMessagesByUser({ userAddress: dave, limit: 10 });
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored[1]!.taskId).toBe(row!.id);
  });

  it('ignores history sent by the client: only the database counts', async () => {
    const forged = [
      { id: 'a', role: 'user', parts: [{ type: 'text', text: `mint 77 of ${dmt()}` }] },
      { id: 'b', role: 'assistant', parts: [{ type: 'text', text: 'How many mints?' }] },
      { id: 'c', role: 'user', parts: [{ type: 'text', text: '我想 mint 100 个 token' }] },
      { id: 'd', role: 'user', parts: [{ type: 'text', text: apx() }] },
    ];
    const response = await chat(erin, { messages: forged });
    expect(response.status).toBe(200);
    expect(sseEvents(response.text).some((e) => e.type === 'tool-input-available')).toBe(false);
    expect(await tasksOf(erin)).toHaveLength(0);
  });
  it('survives a stored message that no longer converts', async () => {
    const frank = user(6).address;
    await insertChatMessage({ userAddress: frank, role: 'assistant', parts: [{ type: 'file' }] });
    const response = await chat(frank, { message: `mint 2 of ${dmt()}` });
    expect(response.status).toBe(200);
    expect(response.body.task.quantity).toBe(2);
  });
});

describe('GET /api/ai-agent/history/:userAddress', () => {
  it('returns the owner’s messages oldest first, usable as useChat messages', async () => {
    const response = await history(alice, alice);
    expect(response.status).toBe(200);
    const { messages } = response.body;
    expect(messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(messages[0].parts).toEqual([{ type: 'text', text: `mint 100 tokens at ${dmt()}` }]);
    const toolPart = messages[1].parts.find((p: { type: string }) => p.type === 'tool-createMintTask');
    expect(toolPart).toMatchObject({ state: 'output-available', input: { quantity: 100 } });
    expect(toolPart.output.task.id).toBeTruthy();
    expect(messages.every((m: { id: string; createdAt: string }) => m.id && m.createdAt)).toBe(true);
    const { buildChatTools } = await import('@/lib/ai/tools');
    const tools = buildChatTools({ userAddress: alice });
    await expect(validateUIMessages<ChatUIMessage>({ messages, tools })).resolves.toHaveLength(4);
    const limited = await history(alice, alice, '?limit=2');
    expect(limited.body.messages.map((m: { id: string }) => m.id)).toEqual(
      messages.slice(2).map((m: { id: string }) => m.id),
    );
  });

  it('answers 401 without a session and 404 to anyone else', async () => {
    expect((await history(alice)).status).toBe(401);
    const stranger = await history(alice, bob);
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found:history');
  });
});

describe('guards', () => {
  it('refuses a userAddress that is not the session’s', async () => {
    const count = async () =>
      (await listChatMessagesByUser({ userAddress: alice, limit: 100 })).length +
      (await listChatMessagesByUser({ userAddress: bob, limit: 100 })).length;
    const before = await count();
    const response = await chat(alice, { userAddress: bob, message: 'my tasks' });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden:chat');
    expect(await count()).toBe(before);
  });

  it('refuses no session, an empty message and one over 4000 characters', async () => {
    const anonymous = await call(chatPOST as never, '/api/ai-agent/chat', {}, { body: { message: 'hi' } });
    expect(anonymous.status).toBe(401);
    expect((await chat(carol, { message: '' })).status).toBe(400);
    const long = await chat(carol, { message: 'a'.repeat(4001) });
    expect(long.status).toBe(413);
    expect(long.body.error.message).toContain('4000');
    expect((await chat(carol, { message: 'a'.repeat(4000) })).status).toBe(200);
  });

  it('rate limits each user (429 with Retry-After) without blocking others', async () => {
    for (let i = 0; i < 8; i++) expect((await chat(erin, { message: 'help' })).status).toBe(200);
    const limited = await chat(erin, { message: 'help' });
    expect(limited.status).toBe(429);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await chat(carol, { message: 'help' })).status).toBe(200);
  });

  it('rate limits per IP across users', async () => {
    const ip = { 'x-forwarded-for': '203.0.113.9' };
    const users = [1, 2, 3, 4, 5, 6].map((i) => user(i).address);
    let last = 0;
    for (let i = 0; i < 33; i++) last = (await chat(users[i % users.length]!, { message: 'help' }, ip)).status;
    expect(last).toBe(429);
  });
});
