import { ChatPage } from '../pages/chat-page';
import { expect, openAs, screenshot, test } from '../support/fixtures';

test('a wallet on another network gets a clear prompt, and one click switches it back', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 9);
  await app.goto('/');
  await app.connectAndSignIn();
  await page.evaluate(() =>
    (window as unknown as { __testWallet: { setChainId(id: string): void } }).__testWallet.setChainId('0x1'),
  );
  await expect(page.getByTestId('wrong-network')).toBeVisible();
  await expect(page.getByTestId('switch-network')).toContainText('Switch to');
  await screenshot(page, '11-wrong-network');
  await page.getByTestId('switch-network').click();
  await expect(app.chatInput()).toBeVisible();
  await context.close();
});

test('Enter while an IME is composing does not send; Enter after it does', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 9, { locale: 'zh-CN' });
  const chat = new ChatPage(page);
  await app.goto('/');
  await app.connectAndSignIn();
  const input = chat.input();
  await input.fill('帮我 mint 1 个 DMT');
  const before = await page.getByTestId('msg-user').count();
  // What Chromium sends when Enter confirms an IME candidate: keydown with isComposing (keyCode 229).
  await input.evaluate((el) => {
    el.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true }));
    el.dispatchEvent(
      new KeyboardEvent('keydown', {
        key: 'Enter',
        code: 'Enter',
        keyCode: 229,
        isComposing: true,
        bubbles: true,
        cancelable: true,
      }),
    );
    el.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true }));
  });
  await page.waitForTimeout(300);
  await expect(page.getByTestId('msg-user')).toHaveCount(before);
  await expect(input).toHaveValue('帮我 mint 1 个 DMT');
  await input.press('Enter');
  await expect(page.getByTestId('msg-user')).toHaveCount(before + 1);
  await expect(chat.taskCards().last()).toBeVisible({ timeout: 60_000 });
  await context.close();
});
