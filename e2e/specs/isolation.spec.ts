import { ChatPage } from '../pages/chat-page';
import { TasksPage } from '../pages/tasks-page';
import { expect, openAs, test } from '../support/fixtures';

test("a second user sees none of the first user's tasks", async ({ browser }) => {
  const first = await openAs(browser, 7);
  await first.app.goto('/');
  await first.app.connectAndSignIn();
  const id = await ChatPage.taskId(await new ChatPage(first.page).sendAndExpectTask('Mint 1 of the demo token'));
  await first.context.close();

  const second = await openAs(browser, 8);
  await second.app.goto('/');
  await second.app.connectAndSignIn();
  const tasks = new TasksPage(second.page);
  await tasks.goto();
  await expect(second.page.getByTestId('tasks-empty')).toBeVisible();
  await expect(tasks.row(id)).toHaveCount(0);

  await second.page.goto(`/tasks/${id}`);
  await expect(second.page.getByTestId('task-detail-missing')).toBeVisible();
  expect((await second.page.request.get(`/api/ai-agent/task/${id}`)).status()).toBe(404);
  await second.context.close();
});
