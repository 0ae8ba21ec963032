import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { AssistantPage } from '../pages/assistant-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { demoToken, mintAmountOf, stackState, tokenBalance } from '../support/stack-state';

type ToolData = Record<string, any>;

async function tool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolData> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  return result.structuredContent as ToolData;
}

test('an assistant creates a task over MCP, the user signs on its fund link, the assistant sees it completed', async ({
  browser,
}) => {
  const { page, app, account, context } = await openAs(browser, 4);
  await app.goto('/');
  await app.connectAndSignIn();

  // The user connects an assistant: a key shown once, with its config.
  const keys = new AssistantPage(page);
  await keys.open();
  const token = await keys.createKey({ name: 'Desktop assistant', scopes: ['read', 'create'], cap: '2' });
  await expect(page.getByTestId('assistant-config-http')).toContainText(`${stackState().baseURL}/mcp`);
  await screenshot(page, '20-assistant-key-created');

  // The assistant, with the official MCP client over Streamable HTTP.
  const client = new Client({ name: 'e2e-assistant', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${stackState().baseURL}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  const token0 = demoToken();
  const quote = await tool(client, 'quote', { tokenAddress: token0.address, quantity: 3 });
  expect(quote.quote).toMatchObject({ totalCostUsdc: '0.3', token: { symbol: 'DMT' } });
  const created = await tool(client, 'create_mint_task', { tokenAddress: token0.address, quantity: 3 });
  expect(created.task.status).toBe('pending_payment');
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
  await client.subscribeResource({ uri: created.resourceUri });

  // The user opens the fund link and signs the one authorization in their own wallet.
  const before = await tokenBalance(token0.address, account.address);
  await page.goto(created.fundLink);
  const detail = page.getByTestId('task-detail');
  await expect(detail).toHaveAttribute('data-task-id', created.task.id);
  await expect(detail).toHaveAttribute('data-status', 'pending_payment');
  await screenshot(page, '21-fund-link');
  await page.getByTestId('fund-button').click();
  await expect(detail).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  await screenshot(page, '22-fund-link-completed');

  // The assistant sees it completed: notified, and in task_status.
  await expect.poll(() => updates.length, { timeout: 20_000 }).toBeGreaterThan(0);
  const status = await tool(client, 'task_status', { taskId: created.task.id });
  expect(status.task).toMatchObject({ status: 'completed', mintsCompleted: 3 });
  expect(status.progress).toBe('3 of 3 mints done');
  const after = await tokenBalance(token0.address, account.address);
  expect(after - before).toBe(3n * (await mintAmountOf(token0.address)));

  // The page lists the key's uses; revoking it stops the assistant at once.
  await keys.open();
  const row = keys.rows().filter({ hasText: 'Desktop assistant' }).first();
  await expect(row.getByTestId('assistant-key-last-used')).not.toContainText('never');
  await expect(keys.uses().filter({ hasText: 'create_mint_task' }).first()).toHaveAttribute('data-outcome', 'ok');
  await screenshot(page, '23-assistant-key-uses');
  await row.getByTestId('assistant-key-revoke').click();
  await expect(row).toHaveAttribute('data-status', 'revoked');
  await expect(client.callTool({ name: 'list_tasks', arguments: {} })).rejects.toThrow(/401|revoked/i);
  await client.close().catch(() => undefined);
  await context.close();
});
