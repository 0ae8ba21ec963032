import { ChatPage } from '../pages/chat-page';
import { TasksPage } from '../pages/tasks-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { demoToken, mintAmountOf, tokenBalance } from '../support/stack-state';

test('English chat creates a task; Sign & fund mints to completion and the tokens arrive', async ({ browser }) => {
  const { page, app, account, context } = await openAs(browser, 1);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  await expect(page.getByTestId('suggestions')).toBeVisible();

  const token = demoToken();
  const before = await tokenBalance(token.address, account.address);
  const card = await chat.sendAndExpectTask('Mint 3 of the demo token');
  await expect(card.getByTestId('task-quantity')).toHaveText('3');
  await expect(card.getByTestId('task-token')).toContainText('DMT');
  await expect(card.getByTestId('task-total')).toContainText('0.3 USDC');
  const id = await ChatPage.taskId(card);
  await screenshot(page, '04-task-card');

  await chat.fund(card);
  await chat.waitForStatus(card, 'completed');
  await expect(card.getByTestId('progress-text')).toContainText('3 of 3');
  await expect(card.getByTestId('tx-hash').first()).toBeVisible();
  await expect(card.getByTestId('mint-tx')).toHaveCount(3);
  await screenshot(page, '05-task-completed');

  const after = await tokenBalance(token.address, account.address);
  expect(after - before).toBe(3n * (await mintAmountOf(token.address)));

  // The conversation, with its task card, is still there after a reload.
  await page.reload();
  await expect(chat.taskCards().last()).toHaveAttribute('data-status', 'completed', { timeout: 30_000 });
  await expect(page.getByTestId('msg-user').first()).toContainText('Mint 3 of the demo token');

  const tasks = new TasksPage(page);
  await tasks.goto();
  await expect(tasks.row(id)).toHaveAttribute('data-status', 'completed');
  await tasks.openDetail(id);
  await expect(page.getByTestId('mint-row')).toHaveCount(3);
  await screenshot(page, '06-task-detail');
  await context.close();
});

test('Chinese chat (中文) creates a task with the UI in Chinese', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 3, { locale: 'zh-CN' });
  const chat = new ChatPage(page);
  await app.goto('/');
  await expect(page.getByTestId('landing-connect')).toHaveText('连接钱包开始');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask('帮我 mint 2 个 DMT');
  await expect(card.getByTestId('task-quantity')).toHaveText('2');
  await expect(card.getByTestId('fund-button')).toHaveText('签名并付款');
  await expect(chat.agentMessages().last()).toContainText(/[\u4e00-\u9fff]/);
  await screenshot(page, '07-chat-chinese');

  // The switch changes the language at once and remembers it.
  await page.getByTestId('language-switch').selectOption('en');
  await expect(card.getByTestId('fund-button')).toHaveText('Sign & fund');
  await page.reload();
  await expect(page.getByTestId('language-switch')).toHaveValue('en');
  await context.close();
});
