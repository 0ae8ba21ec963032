import os from 'node:os';
import path from 'node:path';
import { defineConfig } from 'playwright/test';

// `npm run test:e2e` (e2e/run.ts) builds the app, picks a free port and a state file, and runs
// this config. webServer (e2e/server.ts) brings up a fresh database, chain, web and worker.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
process.env.E2E_STATE_FILE ??= path.join(os.tmpdir(), `agentmint-e2e-${port}.json`);

export default defineConfig({
  testDir: './e2e/specs',
  testMatch: /.*\.spec\.ts$/,
  outputDir: './test-results/artifacts',
  // One stack for the run; specs use different anvil accounts, but 2 CPU cores set the pace.
  workers: 1,
  fullyParallel: false,
  timeout: 120_000,
  expect: { timeout: 20_000 },
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e-report.json' }]],
  use: {
    baseURL,
    locale: 'en-US',
    viewport: { width: 1280, height: 860 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: 'node --import tsx e2e/server.ts',
    url: `${baseURL}/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 20_000 },
    env: { E2E_PORT: String(port), E2E_STATE_FILE: process.env.E2E_STATE_FILE },
  },
});
