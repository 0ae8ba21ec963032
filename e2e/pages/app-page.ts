import { expect, type Locator, type Page } from 'playwright/test';

/** The shell every page shares: landing, RainbowKit connect + SIWE, header, sign out. */
export class AppPage {
  constructor(readonly page: Page) {}

  landing = (): Locator => this.page.getByTestId('landing');
  chatInput = (): Locator => this.page.getByTestId('chat-input');

  async goto(path = '/') {
    await this.page.goto(path);
  }

  /** Connect the injected Test Wallet in RainbowKit's modal, then sign the SIWE message. */
  async connectAndSignIn() {
    await this.page.getByTestId('landing-connect').click();
    const dialog = this.page.getByRole('dialog');
    const wallet = dialog.getByRole('button', { name: /Test Wallet/ });
    if (await wallet.isVisible({ timeout: 10_000 }).catch(() => false)) await wallet.click();
    await this.signMessage();
  }

  /** The SIWE step of RainbowKit's modal (shown after connect while signed out). */
  async signMessage() {
    await this.page.getByRole('button', { name: /Sign message|发送消息/ }).click();
    await expect(this.chatInput()).toBeVisible({ timeout: 30_000 });
  }

  async signOut() {
    await this.page.getByTestId('sign-out').click();
    await expect(this.landing()).toBeVisible();
  }

  async openTasks() {
    await this.page.getByTestId('nav-tasks').click();
    await expect(this.page.getByTestId('tasks')).toHaveAttribute('data-loaded', 'true', { timeout: 60_000 });
  }
}
