import { ChatPage } from '../pages/chat-page';
import { TasksPage } from '../pages/tasks-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';
import { setTokenPaused, stackState, usdcBalance } from '../support/stack-state';

test('cancel a task that awaits payment', async ({ browser }) => {
  // Account 6, shared with the retry spec (both find their task by id): account 5 is the x402
  // spec's, which expects an empty chat showing the suggestions.
  const { page, app, context } = await openAs(browser, 6);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const id = await ChatPage.taskId(await chat.sendAndExpectTask('Mint 4 of the demo token'));

  const tasks = new TasksPage(page);
  await tasks.goto();
  await expect(tasks.row(id)).toHaveAttribute('data-status', 'pending_payment');
  await tasks.cancel(id);
  await expect(tasks.row(id).getByTestId('task-cancel')).toHaveCount(0);
  await screenshot(page, '09-task-cancelled');
  // Cancelled before it was paid: its page has no progress bar (nothing was ever minting).
  await app.goto(`/tasks/${id}`);
  await expect(page.getByTestId('task-detail')).toHaveAttribute('data-status', 'cancelled');
  await expect(page.getByTestId('task-progress')).toHaveCount(0);
  await context.close();
});

test('a task that failed on chain can be retried and then completes', async ({ browser }) => {
  // The second demo token, so pausing it cannot disturb other specs.
  const token = stackState().deployment.tokens[1]!;
  const { page, app, context } = await openAs(browser, 6);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask(`Mint 2 of ${token.address}`);
  const id = await ChatPage.taskId(card);

  await setTokenPaused(token.address, true);
  try {
    await chat.fund(card);
    await chat.waitForStatus(card, 'failed', 90_000);
  } finally {
    await setTokenPaused(token.address, false);
  }
  const tasks = new TasksPage(page);
  await tasks.goto();
  await expect(tasks.row(id)).toHaveAttribute('data-status', 'failed');
  await screenshot(page, '10-task-failed');
  await tasks.retry(id);
  await expect(tasks.row(id)).toHaveAttribute('data-status', 'completed', { timeout: 90_000 });
  await context.close();
});

test('USDC left by a failed task shows as refundable and withdraws to the user', async ({ browser }) => {
  const token = stackState().deployment.tokens[1]!;
  const { page, app, account, context } = await openAs(browser, 3);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask(`Mint 2 of ${token.address}`);
  await setTokenPaused(token.address, true);
  try {
    await chat.fund(card);
    await chat.waitForStatus(card, 'failed', 90_000);
  } finally {
    await setTokenPaused(token.address, false);
  }
  const usdcBefore = await usdcBalance(account.address);
  await page.reload();
  await expect(page.getByTestId('wallet-refundable')).toContainText('0.5 USDC');
  await page.getByTestId('wallet-withdraw').click();
  await expect(page.getByTestId('wallet-result')).toBeVisible();
  await expect(page.getByTestId('wallet-refundable')).toContainText(/^0 USDC$/);
  await screenshot(page, '12-withdrawn');
  expect((await usdcBalance(account.address)) - usdcBefore).toBe(500_000n);
  await context.close();
});

test('cancel while minting: it stops after the batch in flight, and the card shows the unspent USDC sent back', async ({
  browser,
}) => {
  // 60 mints in batches of 5, 0.5 s apart (e2e/server.ts): about six seconds of minting to cancel in.
  const { page, app, account, context } = await openAs(browser, 7);
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const card = await chat.sendAndExpectTask('Mint 60 of the demo token');
  const id = await ChatPage.taskId(card);
  const usdcBefore = await usdcBalance(account.address);
  await chat.fund(card);
  await chat.waitForStatus(card, 'processing', 60_000);
  // Cancelled once the first batch is in: the card keeps its bar at what was minted.
  await expect(card.getByTestId('task-progress')).not.toHaveAttribute('data-completed', '0', { timeout: 30_000 });
  await card.getByTestId('task-cancel').click();
  await chat.waitForStatus(card, 'cancelled', 60_000);

  const refund = card.getByTestId('task-refund');
  await expect(refund).toHaveAttribute('data-refund', 'sent', { timeout: 30_000 });
  await expect(refund).toContainText('Unspent USDC sent back to you');
  // The wallet panel follows at once (it polls only every 15 s): nothing left to withdraw.
  await expect(page.getByTestId('wallet-refundable')).toContainText(/^0 USDC$/, { timeout: 5_000 });
  await screenshot(page, '13-cancelled-refunded');
  // The card's transaction is the refund on chain: what the mints did not spend, back to the user.
  const { task } = (await (await page.request.get(`/api/ai-agent/task/${id}`)).json()) as {
    task: { mintsCompleted: number; pricePerMint: string; totalCost: string; refund: { txHash: string } };
  };
  expect(task.mintsCompleted).toBeLessThan(60);
  const progress = card.getByTestId('task-progress');
  await expect(progress).toHaveAttribute('data-status', 'cancelled');
  await expect(progress).toHaveAttribute('data-completed', String(task.mintsCompleted));
  await expect(progress.getByTestId('progress-text')).toContainText(`${task.mintsCompleted}`);
  await expect(refund.getByTestId('tx-hash')).toHaveAttribute('title', task.refund.txHash);
  const spent = BigInt(task.pricePerMint) * BigInt(task.mintsCompleted);
  expect(usdcBefore - (await usdcBalance(account.address))).toBe(spent);
  await context.close();
});
