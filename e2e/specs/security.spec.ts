import { ChatPage } from '../pages/chat-page';
import { expect, openAs, test } from '../support/fixtures';

// The headers and CSP as the production server sends them (proxy.ts), and the app working
// under them: any script or connection the CSP blocks is a `securitypolicyviolation` here.

test('pages and API responses carry the security headers; a nonce CSP the wallet flow runs under', async ({
  browser,
}) => {
  const { page, app, context } = await openAs(browser, 2);
  await context.addInitScript(() => {
    const browserWindow = window as unknown as { __cspViolations: string[] };
    browserWindow.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      browserWindow.__cspViolations.push(
        `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`,
      ),
    );
  });

  const res = (await page.goto('/'))!;
  const headers = res.headers();
  const csp = headers['content-security-policy']!;
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toContain("'unsafe-eval'");
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  expect(headers['strict-transport-security']).toBeUndefined(); // http here; set behind https only
  // Next put the request's nonce on its own scripts.
  const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
  expect(await page.evaluate((n) => [...document.scripts].filter((s) => s.nonce === n).length, nonce)).toBeGreaterThan(
    0,
  );
  // A new nonce for every page load.
  const again = (await page.request.get('/')).headers()['content-security-policy']!;
  expect(again).not.toContain(nonce);

  const api = await page.request.get('/api/config');
  expect(api.headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(api.headers()['x-content-type-options']).toBe('nosniff');
  expect(api.headers()['x-frame-options']).toBe('DENY');

  // Connect, sign in, chat and open the task list under the CSP: nothing may be blocked.
  await app.connectAndSignIn();
  await new ChatPage(page).sendAndExpectTask('Mint 2 of the demo token');
  await app.openTasks();
  expect(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)).toEqual([]);
  await context.close();
});

test('sign out everywhere ends the session in another browser too', async ({ browser }) => {
  const laptop = await openAs(browser, 2);
  const phone = await openAs(browser, 2);
  for (const device of [laptop, phone]) {
    await device.app.goto('/');
    await device.app.connectAndSignIn();
  }
  expect((await phone.page.request.get('/api/auth/session')).status()).toBe(200);
  await laptop.page.getByTestId('sign-out-everywhere').click();
  await expect(laptop.app.landing()).toBeVisible();
  expect((await laptop.page.request.get('/api/auth/session')).status()).toBe(401);
  // The phone still holds its cookie, but the server has revoked it.
  expect((await phone.page.request.get('/api/auth/session')).status()).toBe(401);
  await phone.page.reload();
  await expect(phone.app.landing()).toBeVisible();
  await laptop.context.close();
  await phone.context.close();
});

test('a cross-site form post cannot act for the signed-in user', async ({ browser }) => {
  const { page, app, context } = await openAs(browser, 2);
  await app.goto('/');
  await app.connectAndSignIn();
  const chat = new ChatPage(page);
  const card = await chat.sendAndExpectTask('Mint 3 of the demo token');
  const taskId = await ChatPage.taskId(card);
  // The same request a hostile page's form would make, with the browser's cookie.
  const forged = await page.request.post(`/api/ai-agent/task/${taskId}/cancel`, {
    headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
    data: '',
  });
  expect(forged.status()).toBe(403);
  const body = await (await page.request.get(`/api/ai-agent/task/${taskId}`)).json();
  expect((body.task ?? body).status).toBe('pending_payment');
  await context.close();
});
