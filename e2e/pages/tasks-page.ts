import { expect, type Locator, type Page } from 'playwright/test';

export class TasksPage {
  constructor(readonly page: Page) {}

  rows = (): Locator => this.page.getByTestId('task-row');
  row = (taskId: string): Locator => this.page.locator(`[data-testid="task-row"][data-task-id="${taskId}"]`);

  async goto() {
    await this.page.goto('/tasks');
    await expect(this.page.getByTestId('tasks')).toHaveAttribute('data-loaded', 'true', { timeout: 60_000 });
  }

  async cancel(taskId: string) {
    await this.row(taskId).getByTestId('task-cancel').click();
    await expect(this.row(taskId)).toHaveAttribute('data-status', 'cancelled');
  }

  async retry(taskId: string) {
    await this.row(taskId).getByTestId('task-retry').click();
  }

  async openDetail(taskId: string) {
    await this.row(taskId).getByTestId('task-row-link').click();
    await expect(this.page.getByTestId('task-detail')).toBeVisible();
  }
}
