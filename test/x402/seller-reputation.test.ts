import { formatUnits, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POST as chatPOST } from '@/app/api/ai-agent/chat/route';
import { listChatMessagesByUser } from '@/db/chats';
import { getTaskById } from '@/db/tasks';
import { markX402ClaimsDelivered } from '@/db/x402-claims';
import { quoteMint } from '@/lib/tasks/quote';
import type { X402MintServer } from '@/scripts/local/x402-mint-server';
import { callTool, connectClient, mcpStdio } from '../mcp/support';
import { call, cookieFor } from '../support/routes';
import { waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, useX402Setup } from './support';

// A seller that took money without delivering once is flagged for everyone (issue 22, "what to
// build" 2): one user's task stops at a take-and-run seller's first payment with a claim; then
// any other user who quotes or creates a task for that seller — chat (English, Chinese), MCP,
// the quote itself — is warned with the claim count, and may still create the task. A seller
// with no claim, or whose claim was delivered after all, gets no warning.

let clean: X402MintServer;
let keys: typeof import('@/lib/assistant-keys/keys');
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const victim = newUser();
let claimTaskId: string;

const setup = useX402Setup({
  env: {
    LOG_LEVEL: 'warn',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    CHECK_INTERVAL_MS: '200',
    X402_DELIVERY_TIMEOUT_MS: '3000',
  },
  workerId: 'x402-seller-reputation',
});

beforeAll(async () => {
  const { startX402MintServer } = await import('@/scripts/local/x402-mint-server');
  clean = await startX402MintServer({ rpcUrl: setup.stack.anvil.url, usdc: setup.stack.deployment.usdc });
  keys = await import('@/lib/assistant-keys/keys');
  const terms = await probeTerms(setup.server.mintUrl('take-and-run'), victim);
  const task = await createFundedX402Task({
    userAddress: victim,
    terms,
    quantity: 3,
    token: setup.server.tokenAddress,
  });
  claimTaskId = task.id;
  const [done] = await waitForTasks([task.id], ['failed', 'completed'], 30_000);
  expect(done!.status).toBe('failed');
  // The worker is not needed past this point: tasks created below stay unfunded.
  await setup.worker!.stop();
}, 120_000);

afterAll(() => clean?.stop(), 30_000);

const taken = () => formatUnits(setup.server.price, 6);

describe('the quote after a claim', () => {
  it('warns another user about the seller (by payee and host), with the claim count; a clean seller gets none', async () => {
    const quote = await quoteMint({ url: setup.server.mintUrl(), quantity: 10, userAddress: newUser() });
    expect(quote.sellerWarning).toMatchObject({
      claims: 1,
      users: 1,
      taken: setup.server.price.toString(),
      takenUsdc: taken(),
      matchedBy: ['payTo', 'host'],
    });
    expect(quote.sellerWarning!.message.en).toContain(
      `This seller took payment without delivering before: 1 claim(s) on record from 1 user(s), ${taken()} USDC`,
    );
    expect(quote.sellerWarning!.message.zh).toContain(
      '这个卖家曾经收款后不交付：记录中有 1 条未交付记录，来自 1 位用户',
    );

    const fine = await quoteMint({ url: clean.mintUrl(), quantity: 10, userAddress: newUser() });
    expect(fine.totalCost).toBe(clean.price * 10n);
    expect(fine).not.toHaveProperty('sellerWarning');
  });
});

describe('the chat (offline model)', () => {
  const chat = (as: Address, message: string) =>
    call(chatPOST as never, '/api/ai-agent/chat', {}, { cookie: cookieFor(as), body: { userAddress: as, message } });

  it('warns in English on a price question and on creating the task, which is still created', async () => {
    const user = newUser();
    const priced = await chat(user, `how much would 10 mints from ${setup.server.mintUrl()} cost?`);
    expect(priced.status).toBe(200);
    expect(priced.body.reply).toMatch(/^⚠️ This seller took payment without delivering before: 1 claim\(s\)/);
    expect(priced.body.reply).toContain('No task was created');

    const created = await chat(user, `mint 10 from ${setup.server.mintUrl()}`);
    expect(created.status).toBe(200);
    expect(created.body.reply).toMatch(/^⚠️ This seller took payment without delivering before: 1 claim\(s\)/);
    expect(created.body.reply).toContain('Task ID:');
    expect(created.body.task).toMatchObject({ route: 'x402', quantity: 10, status: 'pending_payment' });
    expect((await getTaskById({ id: created.body.task.id }))!.status).toBe('pending_payment');
    // The stored tool output carries the warning, so the page shows it beside the task card.
    const [last] = (await listChatMessagesByUser({ userAddress: user, limit: 1 })).slice(-1);
    const part = (last!.parts as { type: string; output?: { sellerWarning?: { claims: number } } }[]).find(
      (p) => p.type === 'tool-createX402Task',
    );
    expect(part?.output?.sellerWarning?.claims).toBe(1);
  });

  it('warns in Chinese', async () => {
    const user = newUser();
    const created = await chat(user, `帮我在 ${setup.server.mintUrl()} mint 10 次`);
    expect(created.status).toBe(200);
    expect(created.body.reply).toMatch(/^⚠️ 这个卖家曾经收款后不交付：记录中有 1 条未交付记录/);
    expect(created.body.reply).toContain('✅ 任务创建成功！');
  });

  it('says nothing of the kind about a seller without claims', async () => {
    const created = await chat(newUser(), `mint 10 from ${clean.mintUrl()}`);
    expect(created.status).toBe(200);
    expect(created.body.task).toMatchObject({ route: 'x402', status: 'pending_payment' });
    expect(created.body.reply).not.toContain('⚠️');
  });
});

describe('MCP quote and create_mint_task', () => {
  it('carry the warning; the task is created all the same', async () => {
    const user = newUser();
    const { token } = await keys.createAssistantKey({
      userAddress: user,
      name: 'reputation',
      scopes: ['read', 'create'],
      dailyCapUsdc: 10_000_000n,
      expiresInDays: 1,
    });
    const client = await connectClient(mcpStdio({ ...setup.stack.env, AGENTMINT_KEY: token }));
    try {
      const quote = await callTool(client, 'quote', { url: setup.server.mintUrl(), quantity: 10 });
      expect(quote.isError).toBe(false);
      expect(quote.data.quote.sellerWarning).toMatchObject({ claims: 1, users: 1, takenUsdc: taken() });
      const created = await callTool(client, 'create_mint_task', { url: setup.server.mintUrl(), quantity: 10 });
      expect(created.isError).toBe(false);
      expect(created.data.task.status).toBe('pending_payment');
      expect(created.data.sellerWarning.message.en).toMatch(/^⚠️ This seller took payment without delivering before/);
    } finally {
      await client.close();
    }
  });
});

describe('a claim whose tokens arrived after all', () => {
  it('no longer flags the seller', async () => {
    await markX402ClaimsDelivered({ taskId: claimTaskId, delivered: 1 });
    const quote = await quoteMint({ url: setup.server.mintUrl(), quantity: 10, userAddress: newUser() });
    expect(quote).not.toHaveProperty('sellerWarning');
  });
});
