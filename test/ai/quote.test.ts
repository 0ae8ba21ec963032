import { eq } from 'drizzle-orm';
import type { Address } from 'viem';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { getDb } from '@/db/client';
import { aiAgentTasks } from '@/db/schema';
import { resetRateLimits } from '@/lib/rate-limit';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { call, cookieFor } from './support/http';
import { DEMO, runConversation } from './support/offline-harness';

// A price question in the chat gets the same quote as the MCP `quote` tool (lib/tasks/quote.ts)
// and creates no task; "mint them" afterwards creates the task that was priced.

describe('offline model: price questions', () => {
  const T = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
  it.each([
    [`how much would 50 mints from ${T} cost?`, { tokenAddress: T, quantity: 50 }],
    ['50 个 DMT 要多少钱', { tokenAddress: DEMO.DMT, quantity: 50 }],
    ['what is the price of 20 APX?', { tokenAddress: DEMO.APX, quantity: 20 }],
    [`铸造 30 个 ${T} 需要多少钱？`, { tokenAddress: T, quantity: 30 }],
    ['how much to mint 10 from https://mint.example/api/mint', { url: 'https://mint.example/api/mint', quantity: 10 }],
  ])('%s → quote, no task', async (message, args) => {
    const [turn] = await runConversation([message]);
    expect(turn!.calls).toEqual([{ toolName: 'quote', input: args }]);
  });

  it('completes a price question across turns, then mints what was priced on "mint them"', async () => {
    const turns = await runConversation(['I want DMT', '50 个要多少钱', '好，mint 吧']);
    expect(turns[1]!.calls).toEqual([{ toolName: 'quote', input: { tokenAddress: DEMO.DMT, quantity: 50 } }]);
    expect(turns[1]!.text).toMatch(/总计 5 USDC/);
    expect(turns[2]!.calls).toEqual([{ toolName: 'createMintTask', input: { tokenAddress: DEMO.DMT, quantity: 50 } }]);
  });

  it('still reads "how much USDC do I have" as a wallet question', async () => {
    const [turn] = await runConversation(['how much USDC do I have?']);
    expect(turn!.calls.map((c) => c.toolName)).toEqual(['getAgentWallet']);
  });
});

describe('chat route: price questions on the real chain', () => {
  let stack: TestStack;
  const alice = user(2).address as Address;
  beforeAll(async () => {
    stack = await startTestStack({ env: { LOG_LEVEL: 'error' } });
  });
  afterAll(async () => stack?.stop());
  beforeEach(() => resetRateLimits());

  const chat = (message: string) =>
    call(
      chatPOST as never,
      '/api/ai-agent/chat',
      {},
      { cookie: cookieFor(alice), body: { userAddress: alice, message } },
    );
  const tasks = () => getDb().select().from(aiAgentTasks).where(eq(aiAgentTasks.userAddress, alice.toLowerCase()));

  it('answers the price in English and Chinese and creates no task', async () => {
    const dmt = stack.deployment.tokens[0]!.address;
    const en = await chat(`how much would 50 mints from ${dmt} cost?`);
    expect(en.status).toBe(200);
    expect(en.body.reply).toContain('0.1 USDC each, 5 USDC in total');
    expect(en.body.reply).toContain('No task was created');
    expect(en.body.task).toBeUndefined();
    const zh = await chat('50 个 DMT 要多少钱');
    expect(zh.body.reply).toContain('总计 5 USDC');
    const refused = await chat(`how much would 5000 mints of ${dmt} cost?`);
    expect(refused.body.reply).toMatch(/couldn’t price that: Quantity must be/);
    expect(await tasks()).toEqual([]);
  });
});
