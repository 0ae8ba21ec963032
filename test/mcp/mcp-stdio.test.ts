import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startX402MintServer } from '@/scripts/local/x402-mint-server';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { callTool, connectClient, mcpStdio } from './support';

// `npm run mcp`: the official SDK client starts the stdio server as a desktop assistant does
// (a child process, the key in AGENTMINT_KEY) against a real Postgres and anvil.

let stack: TestStack;
let keys: typeof import('@/lib/assistant-keys/keys');
let x402: Awaited<ReturnType<typeof startX402MintServer>>;
const alice = user(8);

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'warn', PUBLIC_URL: 'http://localhost:3999' } });
  keys = await import('@/lib/assistant-keys/keys');
  x402 = await startX402MintServer({ rpcUrl: stack.anvil.url, usdc: stack.deployment.usdc });
});

afterAll(async () => {
  await x402?.stop();
  const { closeDb } = await import('@/db/client');
  await closeDb();
  await stack?.stop();
});

const stdio = (key?: string) =>
  mcpStdio({ ...stack.env, X402_ALLOWED_HOSTS: `127.0.0.1:${x402.port}`, ...(key ? { AGENTMINT_KEY: key } : {}) });

const newKey = (scopes: ('read' | 'create' | 'cancel' | 'withdraw')[] = ['read', 'create', 'cancel', 'withdraw']) =>
  keys.createAssistantKey({
    userAddress: alice.address,
    name: 'stdio',
    scopes,
    dailyCapUsdc: 5_000_000n,
    expiresInDays: 1,
  });

describe('stdio', () => {
  it('without a key offers quote alone', async () => {
    const client = await connectClient(stdio());
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['quote']);
    const quote = await callTool(client, 'quote', { tokenAddress: stack.deployment.tokens[1]!.address, quantity: 4 });
    expect(quote.data.quote).toMatchObject({ token: { symbol: 'APX' }, totalCost: '1000000', totalCostUsdc: '1' });
    await client.close();
  });

  it('acts for the key’s user with every tool its scopes allow', async () => {
    const { token } = await newKey();
    const client = await connectClient(stdio(token));
    expect((await client.listTools()).tools).toHaveLength(8);
    const dmt = stack.deployment.tokens[0]!.address;
    const created = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 2 });
    expect(created.isError).toBe(false);
    expect(created.data.fundLink).toBe(`http://localhost:3999/tasks/${created.data.task.id}`);
    expect(created.data.task.userAddress).toBe(alice.address);
    const status = await callTool(client, 'task_status', { taskId: created.data.task.id });
    expect(status.data.task.status).toBe('pending_payment');
    expect((await callTool(client, 'list_tasks', { status: 'pending_payment' })).data.tasks).toHaveLength(1);
    expect((await callTool(client, 'wallet')).data).toMatchObject({
      refundableUsdc: '0',
      wallet: { usdcBalance: '0' },
    });
    expect((await callTool(client, 'cancel_task', { taskId: created.data.task.id })).data.task.status).toBe(
      'cancelled',
    );
    expect((await callTool(client, 'retry_task', { taskId: created.data.task.id })).data.error.code).toBe(
      'conflict:task',
    );
    expect((await callTool(client, 'withdraw', {})).data.error.code).toBe('conflict:withdraw');
    expect((await callTool(client, 'withdraw', { amountUsdc: 'all of it' })).data.error.code).toBe(
      'bad_request:withdraw',
    );
    expect((await callTool(client, 'task_status', { taskId: 'not-a-task' })).data.error.error).toBe('not found');
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain(`agentmint://tasks/${created.data.task.id}`);
    await client.close();
  });

  it('quotes and creates a task that buys from an x402 endpoint, with its payments in task_status', async () => {
    const { token } = await newKey(['read', 'create']);
    const client = await connectClient(stdio(token));
    const url = x402.mintUrl();
    const quote = await callTool(client, 'quote', { url, quantity: 20 });
    expect(quote.data.quote).toMatchObject({
      route: 'x402',
      pricePerMint: x402.price.toString(),
      totalCost: (x402.price * 20n).toString(),
      endpoint: { host: `127.0.0.1:${x402.port}` },
      token: { symbol: 'X4D' },
    });
    expect(JSON.stringify(quote.data)).not.toContain(new URL(url).pathname);
    const created = await callTool(client, 'create_mint_task', { url, quantity: 20 });
    expect(created.data.task).toMatchObject({ route: 'x402', quantity: 20, status: 'pending_payment' });
    const status = await callTool(client, 'task_status', { taskId: created.data.task.id });
    expect(status.data.payments).toEqual({ settled: 0, open: 0, refused: 0, settledAmount: '0' });
    await client.close();
  });

  it('checks the key again before every use: a key revoked mid-session stops working', async () => {
    const { token, key } = await newKey(['read']);
    const client = await connectClient(stdio(token));
    expect((await callTool(client, 'list_tasks')).isError).toBe(false);
    const refused = await callTool(client, 'cancel_task', { taskId: crypto.randomUUID() });
    expect(refused.data.error.code).toBe('forbidden:scope');
    await keys.revokeUserAssistantKey({ id: key.id, userAddress: alice.address });
    const after = await callTool(client, 'list_tasks');
    expect(after).toMatchObject({ isError: true, data: { error: { code: 'unauthorized:assistant_key' } } });
    await client.close();
  });

  it('refuses to start with an unknown key', async () => {
    await expect(connectClient(stdio('amk_' + 'z'.repeat(43)))).rejects.toThrow();
  });
});
