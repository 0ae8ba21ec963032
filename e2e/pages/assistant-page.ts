import { expect, type Locator, type Page } from 'playwright/test';

/** "Connect an assistant": create, read once and revoke assistant keys. */
export class AssistantPage {
  constructor(readonly page: Page) {}

  keyRow = (id: string): Locator => this.page.locator(`[data-testid="assistant-key-row"][data-key-id="${id}"]`);
  rows = (): Locator => this.page.getByTestId('assistant-key-row');
  uses = (): Locator => this.page.getByTestId('assistant-key-use');

  async open() {
    await this.page.getByTestId('nav-assistant').click();
    await expect(this.page.getByTestId('assistant-keys')).toHaveAttribute('data-loaded', 'true', { timeout: 30_000 });
  }

  /** Creates a key and answers its token, read from the one place it is ever shown. */
  async createKey({ name, scopes, cap }: { name: string; scopes: string[]; cap: string }): Promise<string> {
    await this.page.getByTestId('assistant-key-name').fill(name);
    for (const scope of ['read', 'create', 'cancel', 'withdraw']) {
      await this.page.getByTestId(`assistant-scope-${scope}`).setChecked(scopes.includes(scope));
    }
    await this.page.getByTestId('assistant-key-cap').fill(cap);
    await this.page.getByTestId('assistant-key-create').click();
    const token = (await this.page.getByTestId('assistant-key-token').textContent())!.trim();
    expect(token).toMatch(/^amk_/);
    return token;
  }
}
