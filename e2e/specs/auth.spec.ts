import { ChatPage } from '../pages/chat-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';

test('connect the wallet, sign in with Ethereum, stay signed in on reload, sign out', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 2);
  await app.goto('/');
  await expect(app.landing()).toBeVisible();
  await expect(page.getByTestId('chat-input')).toHaveCount(0);
  await screenshot(page, '01-landing');

  await app.connectAndSignIn();
  await expect(page.getByTestId('wallet-panel')).toBeVisible();
  await screenshot(page, '02-signed-in');
  expect((await page.request.get('/api/auth/session')).status()).toBe(200);

  await page.reload();
  await expect(app.chatInput()).toBeVisible({ timeout: 30_000 });

  await app.signOut();
  expect((await page.request.get('/api/auth/session')).status()).toBe(401);
  await context.close();
});

test('a phone-width screen shows the landing page and the chat', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 2, { viewport: { width: 390, height: 844 } });
  await app.goto('/');
  await expect(app.landing()).toBeVisible();
  await app.connectAndSignIn();
  await expect(page.getByTestId('suggestions')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(1);
  await new ChatPage(page).sendAndExpectTask('Mint 5 of the demo token');
  const overflowWithCard = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflowWithCard).toBeLessThanOrEqual(1);
  await screenshot(page, '03-phone-chat');
  await context.close();
});
