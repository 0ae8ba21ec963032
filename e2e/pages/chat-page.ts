import { expect, type Locator, type Page } from 'playwright/test';

export class ChatPage {
  constructor(readonly page: Page) {}

  input = (): Locator => this.page.getByTestId('chat-input');
  taskCards = (): Locator => this.page.getByTestId('task-card');
  agentMessages = (): Locator => this.page.getByTestId('msg-agent');

  /** Types like a user and presses Enter; returns the new task card if the agent made one. */
  async send(text: string) {
    await this.input().fill(text);
    await this.input().press('Enter');
    await expect(this.page.getByTestId('msg-user').last()).toContainText(text);
  }

  async sendAndExpectTask(text: string): Promise<Locator> {
    const before = await this.taskCards().count();
    await this.send(text);
    await expect(this.taskCards()).toHaveCount(before + 1, { timeout: 60_000 });
    const card = this.taskCards().last();
    await expect(card).toHaveAttribute('data-status', 'pending_payment');
    return card;
  }

  /** The suggestion chip whose text contains `text`. */
  suggestion = (text: string): Locator => this.page.getByTestId('suggestion').filter({ hasText: text });

  /** What the card says it mints through: the token contract, or an x402 endpoint and its host. */
  route = (card: Locator): Locator => card.getByTestId('task-route');

  static async taskId(card: Locator): Promise<string> {
    return (await card.getAttribute('data-task-id'))!;
  }

  async fund(card: Locator) {
    await card.getByTestId('fund-button').click();
  }

  async waitForStatus(card: Locator, status: string, timeout = 90_000) {
    await expect(card).toHaveAttribute('data-status', status, { timeout });
  }
}
