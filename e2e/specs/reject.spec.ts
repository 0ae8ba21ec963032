import { ChatPage } from '../pages/chat-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { transferUsdc, usdcBalance } from '../support/stack-state';
import { testAccount } from '../support/wallet';

test('a rejected signature shows a message and leaves the task payable; paying later works', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 4);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask('Mint 2 of the demo token');

  await page.evaluate(() => (window as unknown as { __testWallet: { rejectNext(): void } }).__testWallet.rejectNext());
  await chat.fund(card);
  await expect(card.getByTestId('fund-error')).toContainText('rejected');
  await expect(card).toHaveAttribute('data-status', 'pending_payment');
  await expect(card.getByTestId('fund-button')).toBeEnabled();
  await screenshot(page, '08-signature-rejected');

  const id = await ChatPage.taskId(card);
  const res = await page.request.get(`/api/ai-agent/task/${id}`);
  expect(((await res.json()) as { task: { status: string } }).task.status).toBe('pending_payment');

  await chat.fund(card);
  await chat.waitForStatus(card, 'completed');
  await context.close();
});

test('a fund the server refuses (not enough USDC) explains why and leaves the task payable', async ({ browser }) => {
  const { page, app, account, context } = await openAs(browser, 9);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask('Mint 2 of the demo token');

  const parked = await usdcBalance(account.address);
  const sink = testAccount(0).address;
  await transferUsdc(9, sink, parked);
  try {
    await chat.fund(card);
    await expect(card.getByTestId('fund-error')).toContainText('The payment did not go through');
    await expect(card.getByTestId('fund-error')).toContainText('still waiting for payment');
    await expect(card).toHaveAttribute('data-status', 'pending_payment');
    await screenshot(page, '13-fund-refused');
  } finally {
    await transferUsdc(0, account.address, parked);
  }
  await chat.fund(card);
  await chat.waitForStatus(card, 'completed');
  await context.close();
});
