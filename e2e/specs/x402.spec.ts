import { ChatPage } from '../pages/chat-page';
import { TasksPage } from '../pages/tasks-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { stackState, tokenBalance } from '../support/stack-state';

// x402: the user names the local x402 mint endpoint (official @x402/express server with an
// in-process facilitator), signs once, and the agent pays the endpoint per mint until the
// tokens are in the user's wallet.
test('a chat request to mint from an x402 endpoint: one signature, the tokens arrive in the wallet', async ({
  browser,
}) => {
  const { x402 } = stackState();
  const host = new URL(x402.mintUrl).host;
  const { page, app, account, context } = await openAs(browser, 5);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  await expect(chat.suggestion(x402.mintUrl)).toBeVisible();

  const before = await tokenBalance(x402.tokenAddress, account.address);
  const card = await chat.sendAndExpectTask(`Mint 10 from ${x402.mintUrl}`);
  await expect(chat.route(card)).toHaveAttribute('data-route', 'x402');
  await expect(chat.route(card)).toContainText(`x402 endpoint ${host}`);
  await expect(card.getByTestId('task-quantity')).toHaveText('10');
  await expect(card.getByTestId('task-token')).toContainText('X4D');
  await expect(card.getByTestId('task-total')).toContainText(`${(Number(x402.price) * 10) / 1e6} USDC`);
  await expect(chat.agentMessages().last()).toContainText(`Endpoint: ${host} (x402 v2)`);
  const id = await ChatPage.taskId(card);
  await screenshot(page, 'x402-01-task-card');

  await chat.fund(card);
  await chat.waitForStatus(card, 'completed', 120_000);
  await expect(card.getByTestId('progress-text')).toContainText('10 of 10');
  await screenshot(page, 'x402-02-completed');
  const after = await tokenBalance(x402.tokenAddress, account.address);
  expect(after - before).toBe(10n * BigInt(x402.mintAmount));

  const tasks = new TasksPage(page);
  await tasks.goto();
  await expect(tasks.row(id)).toHaveAttribute('data-status', 'completed');
  await expect(tasks.row(id).getByTestId('task-row-route')).toContainText(host);
  await context.close();
});
