import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test as base, expect, type Browser, type Page } from 'playwright/test';
import { AppPage } from '../pages/app-page';
import { stackState } from './stack-state';
import { installTestWallet } from './wallet';

export { expect };

const SHOTS = path.join(process.cwd(), 'test-results', 'screenshots');
const LOGS = path.join(process.cwd(), 'test-results', 'logs');

/** A fresh browser context whose injected wallet signs as anvil account `accountIndex`. */
export async function openAs(
  browser: Browser,
  accountIndex: number,
  options: { locale?: string; viewport?: { width: number; height: number } } = {},
) {
  const { baseURL, rpcUrl, chainId } = stackState();
  const context = await browser.newContext({
    baseURL,
    locale: options.locale ?? 'en-US',
    viewport: options.viewport ?? { width: 1280, height: 860 },
  });
  const account = await installTestWallet(context, { accountIndex, rpcUrl, chainId });
  const page = await context.newPage();
  // Browser errors (hydration, failed requests, React warnings) go to one log for review.
  mkdirSync(LOGS, { recursive: true });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      appendFileSync(path.join(LOGS, 'browser-console.log'), `[account ${accountIndex}] ${m.type()}: ${m.text()}\n`);
  });
  page.on('pageerror', (e) =>
    appendFileSync(path.join(LOGS, 'browser-console.log'), `[account ${accountIndex}] pageerror: ${e.message}\n`),
  );
  return { context, page, account, app: new AppPage(page) };
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

export const test = base;
