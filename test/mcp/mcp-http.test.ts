import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { cookieFor } from '../support/routes';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { callTool, connectClient, signFunding, startApp, waitUntil, type RunningApp } from './support';

// The MCP server as an assistant meets it: the official SDK client over Streamable HTTP against
// `next start` and a mint worker on a real Postgres and anvil. Keys are made through the keys
// API with a real session, as the "Connect an assistant" page makes them.

let stack: TestStack;
let app: RunningApp;
let dmt: `0x${string}`;
const alice = user(4);
const bob = user(5);

beforeAll(async () => {
  // AUTO_REFUND=false: a cancelled task's leftover stays in the agent wallet for the withdraw
  // tool to move (the worker's own refund raced it: refund.test.ts covers that one).
  stack = await startTestStack({ env: { LOG_LEVEL: 'warn', AUTO_REFUND: 'false' } });
  app = await startApp(stack);
  dmt = stack.deployment.tokens[0]!.address;
}, 600_000);

afterAll(async () => {
  await app?.stop();
  await stack?.stop();
});

async function api(path: string, init: { method?: string; body?: unknown; cookie?: string } = {}) {
  const res = await fetch(`${app.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.cookie ? { cookie: init.cookie } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

async function newKey(owner = alice, body: Record<string, unknown> = {}) {
  const cookie = await cookieFor(owner.address);
  const created = await api('/api/assistant-keys', {
    cookie,
    body: { name: 'Test assistant', scopes: ['read', 'create', 'cancel', 'withdraw'], dailyCapUsdc: '5', ...body },
  });
  expect(created.status).toBe(201);
  return { token: created.body.token as string, id: created.body.key.id as string, cookie };
}

const transportFor = (token?: string) =>
  new StreamableHTTPClientTransport(new URL(`${app.url}/mcp`), {
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
  });

const initialize = (headers: Record<string, string>) =>
  fetch(`${app.url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });

describe('without a key', () => {
  it('offers quote alone, and quote answers the price without creating anything', async () => {
    const client = await connectClient(transportFor());
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['quote']);
    expect(tools[0]!.inputSchema.properties).toHaveProperty('quantity');

    const quote = await callTool(client, 'quote', { tokenAddress: dmt, quantity: 50 });
    expect(quote.isError).toBe(false);
    expect(quote.data.quote).toMatchObject({
      route: 'contract',
      quantity: 50,
      pricePerMint: '100000',
      totalCost: '5000000',
      totalCostUsdc: '5',
      token: { symbol: 'DMT' },
    });
    const refused = await callTool(client, 'quote', { tokenAddress: dmt, quantity: 5000 });
    expect(refused).toMatchObject({ isError: true, data: { error: { code: 'bad_request:task' } } });
    expect(refused.data.error.error).toMatch(/1 to 1000/);
    await expect(client.callTool({ name: 'create_mint_task', arguments: {} })).resolves.toMatchObject({
      isError: true,
    });
    await client.close();
  });

  it('advertises how to authenticate: RFC 9728 metadata and a WWW-Authenticate challenge', async () => {
    const meta = await api('/.well-known/oauth-protected-resource/mcp');
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      resource: `${app.url}/mcp`,
      bearer_methods_supported: ['header'],
      scopes_supported: ['read', 'create', 'cancel', 'withdraw'],
      resource_documentation: `${app.url}/assistant`,
    });
    expect((await api('/.well-known/oauth-protected-resource')).body.resource).toBe(`${app.url}/mcp`);

    const res = await initialize({ authorization: 'Bearer amk_' + 'x'.repeat(43) });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${app.url}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('error="invalid_token"');
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized:assistant_key' } });

    const malformed = await initialize({ authorization: 'Basic Zm9vOmJhcg==' });
    expect(malformed.status).toBe(401);
    expect(malformed.headers.get('www-authenticate')).toContain('error="invalid_request"');
    // The official client fails to connect with a refused key.
    await expect(connectClient(transportFor('amk_' + 'y'.repeat(43)))).rejects.toThrow(/401|Unauthorized/i);
  });
});

describe('with an assistant key', () => {
  it('creates a task with a fund link, follows it to completed, and logs every use', async () => {
    const { token, id, cookie } = await newKey();
    const client = await connectClient(transportFor(token));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'cancel_task',
        'create_mint_task',
        'list_tasks',
        'quote',
        'retry_task',
        'task_status',
        'wallet',
        'withdraw',
      ].sort(),
    );
    // No tool takes a signature or a key: signing happens in the user's wallet only.
    for (const tool of tools)
      expect(Object.keys(tool.inputSchema.properties ?? {}).join(' ')).not.toMatch(/sig|private|key|authoriz/i);

    const created = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 3 });
    expect(created.isError).toBe(false);
    const task = created.data.task;
    expect(task).toMatchObject({
      status: 'pending_payment',
      quantity: 3,
      totalCost: '300000',
      userAddress: alice.address,
    });
    expect(created.data.fundLink).toBe(`${app.url}/tasks/${task.id}`);
    expect(created.data.resourceUri).toBe(`agentmint://tasks/${task.id}`);

    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await client.subscribeResource({ uri: created.data.resourceUri });

    const pending = await callTool(client, 'task_status', { taskId: task.id });
    expect(pending.data).toMatchObject({ task: { status: 'pending_payment' }, fundLink: created.data.fundLink });
    expect((await callTool(client, 'list_tasks', {})).data.tasks.map((t: { id: string }) => t.id)).toContain(task.id);

    // The user signs on the fund page (here: their key signs the same typed data), then the worker mints.
    const fund = await api(`/api/ai-agent/task/${task.id}/fund`, { body: await signFunding(alice, task) });
    expect(fund.status).toBe(200);
    const done = await waitUntil('the task completed', async () => {
      const status = await callTool(client, 'task_status', { taskId: task.id });
      return status.data.task.status === 'completed' ? status.data : undefined;
    });
    expect(done).toMatchObject({ progress: '3 of 3 mints done', task: { mintsCompleted: 3 } });
    expect(done.mints).toHaveLength(3);
    expect(done.fundLink).toBeUndefined();
    await waitUntil('resource updates', async () => (updates.length >= 2 ? true : undefined), 10_000);
    expect(new Set(updates)).toEqual(new Set([created.data.resourceUri]));
    const resource = await client.readResource({ uri: created.data.resourceUri });
    expect(JSON.parse((resource.contents[0] as { text: string }).text).task.status).toBe('completed');

    const keys = await api('/api/assistant-keys', { cookie });
    const key = keys.body.keys.find((k: { id: string }) => k.id === id);
    expect(key).toMatchObject({ status: 'active', spentLast24hUsdc: '300000' });
    expect(key.lastUsedAt).not.toBeNull();
    const actions = keys.body.uses
      .filter((u: { keyId: string }) => u.keyId === id)
      .map((u: { action: string }) => u.action);
    expect(actions).toEqual(
      expect.arrayContaining(['create_mint_task', 'task_status', 'list_tasks', 'subscribe_task']),
    );
    expect(JSON.stringify(keys.body)).not.toContain(token);
    await client.close();
  });

  it('cancels, withdraws to the owner only, and answers a retry of a live task with a refusal', async () => {
    const { token } = await newKey();
    const client = await connectClient(transportFor(token));
    const created = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 2 });
    const task = created.data.task;
    expect((await api(`/api/ai-agent/task/${task.id}/fund`, { body: await signFunding(alice, task) })).status).toBe(
      200,
    );
    const cancelled = await callTool(client, 'cancel_task', { taskId: task.id });
    expect(cancelled.isError).toBe(false);
    expect(['cancelled', 'processing']).toContain(cancelled.data.task.status);
    const settled = await waitUntil('the cancel to settle', async () => {
      const taskView = (await callTool(client, 'task_status', { taskId: task.id })).data.task;
      return ['cancelled', 'completed'].includes(taskView.status) ? taskView : undefined;
    });

    const retry = await callTool(client, 'retry_task', { taskId: task.id });
    expect(retry).toMatchObject({ isError: true, data: { error: { code: 'conflict:task' } } });

    const wallet = await callTool(client, 'wallet');
    expect(wallet.data.wallet.userAddress).toBe(alice.address);
    const refundable = BigInt(wallet.data.wallet.refundableUsdc);
    if (settled.status === 'cancelled') expect(refundable).toBeGreaterThan(0n);
    if (refundable > 0n) {
      const withdrawn = await callTool(client, 'withdraw', {});
      expect(withdrawn.isError).toBe(false);
      expect(withdrawn.data).toMatchObject({ to: alice.address, amount: refundable.toString() });
      expect(withdrawn.data.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    }
    const nothing = await callTool(client, 'withdraw', { amountUsdc: '1' });
    expect(nothing).toMatchObject({ isError: true, data: { error: { code: 'conflict:withdraw' } } });
    // Another user's task is not found, like a missing one.
    const bobs = await newKey(bob);
    const bobClient = await connectClient(transportFor(bobs.token));
    const stranger = await callTool(bobClient, 'task_status', { taskId: task.id });
    expect(stranger).toMatchObject({ isError: true, data: { error: { error: 'not found' } } });
    expect((await callTool(bobClient, 'cancel_task', { taskId: task.id })).data.error.error).toBe('not found');
    await bobClient.close();
    await client.close();
  });

  it('refuses a tool outside the key’s scopes, and logs the refusal', async () => {
    const { token, id, cookie } = await newKey(alice, { scopes: ['read'] });
    const client = await connectClient(transportFor(token));
    const refused = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 1 });
    expect(refused).toMatchObject({ isError: true, data: { error: { code: 'forbidden:scope' } } });
    expect(refused.data.error.error).toContain('"create" scope');
    expect((await callTool(client, 'withdraw', {})).data.error.code).toBe('forbidden:scope');
    expect((await callTool(client, 'wallet')).isError).toBe(false);
    const uses = (await api('/api/assistant-keys', { cookie })).body.uses.filter(
      (u: { keyId: string }) => u.keyId === id,
    );
    expect(uses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'create_mint_task', outcome: 'refused', errorCode: 'forbidden:scope' }),
        expect.objectContaining({ action: 'wallet', outcome: 'ok' }),
      ]),
    );
    await client.close();
  });

  it('enforces the daily cap at task creation; a task cancelled unpaid gives its share back', async () => {
    const { token } = await newKey(alice, { dailyCapUsdc: '0.5' });
    const client = await connectClient(transportFor(token));
    const first = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 3 });
    expect(first.isError).toBe(false);
    const over = await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 3 });
    expect(over).toMatchObject({
      isError: true,
      data: { error: { code: 'forbidden:daily_cap', details: { leftUsdc: '200000', dailyCapUsdc: '500000' } } },
    });
    expect((await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 2 })).isError).toBe(false);
    expect((await callTool(client, 'cancel_task', { taskId: first.data.task.id })).isError).toBe(false);
    expect((await callTool(client, 'create_mint_task', { tokenAddress: dmt, quantity: 3 })).isError).toBe(false);
    await client.close();
  });

  it('stops a revoked key at once, session and all, and refuses an expired one', async () => {
    const { token, id, cookie } = await newKey();
    const client = await connectClient(transportFor(token));
    expect((await callTool(client, 'list_tasks')).isError).toBe(false);
    expect((await api(`/api/assistant-keys/${id}/revoke`, { cookie, body: {} })).body.key.status).toBe('revoked');
    await expect(callTool(client, 'list_tasks')).rejects.toThrow(/401|revoked/i);
    const res = await initialize({ authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect((await res.json()).error.message).toMatch(/revoked/);

    const expiring = await newKey();
    await getSql()`update assistant_keys set expires_at = now() - interval '1 second' where id = ${expiring.id}`;
    const expired = await initialize({ authorization: `Bearer ${expiring.token}` });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await expired.json()).error.message).toMatch(/expired/);
    const listed = (await api('/api/assistant-keys', { cookie })).body;
    expect(listed.keys.find((k: { id: string }) => k.id === expiring.id).status).toBe('expired');
    expect(listed.uses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ keyId: id, action: 'authenticate', outcome: 'refused', errorCode: 'revoked' }),
        expect.objectContaining({ keyId: expiring.id, outcome: 'refused', errorCode: 'expired' }),
      ]),
    );
    await client.close().catch(() => undefined);
  });

  it('does not let a session opened with one key be used with another', async () => {
    const first = await newKey();
    const second = await newKey(bob);
    const transport = transportFor(first.token);
    const client = await connectClient(transport);
    const res = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${second.token}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(res.status).toBe(404);
    await client.close();
  });
});
