import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stopChild } from '@/scripts/local/anvil';
import { nextBin } from '@/scripts/local/next-build';
import { startX402MintServer } from '@/scripts/local/x402-mint-server';
import { startTestStack } from '@/test/support/stack';

// Playwright's webServer: a fresh stack for one e2e run — embedded Postgres and anvil on free
// ports in a temp dir, contracts deployed, migrations applied — then `next start` (the
// .next-e2e build) and one mint worker. Writes what the specs need to E2E_STATE_FILE and
// stops everything on SIGTERM/SIGINT.

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const port = Number(process.env.E2E_PORT ?? 3100);
const stateFile = process.env.E2E_STATE_FILE ?? path.join(root, 'test-results', 'e2e-state.json');
const logDir = path.join(root, 'test-results', 'logs');

async function main() {
  mkdirSync(logDir, { recursive: true });
  const stack = await startTestStack({
    env: {
      MINT_INTERVAL_MS: '500',
      MINT_BATCH_SIZE: '5',
      LOG_LEVEL: 'info',
      CHECK_INTERVAL_MS: '1000',
      MAX_RETRIES: '1',
      // A seller that settles and delivers nothing (x402-claims.spec.ts) is stopped 5 s after its payment, not 2 min.
      X402_DELIVERY_TIMEOUT_MS: '5000',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
    },
  });
  // E2E_DEV=1 runs `next dev` (.next-dev) for quick iteration instead of the production build.
  const dev = process.env.E2E_DEV === '1';
  // The local x402 mint server, as npm start runs it: the app may call it (X402_ALLOWED_HOSTS).
  const x402 = await startX402MintServer({ rpcUrl: stack.anvil.url, usdc: stack.deployment.usdc });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...stack.env,
    X402_ALLOWED_HOSTS: `127.0.0.1:${x402.port}`,
    X402_DEMO_URL: x402.mintUrl(),
    NEXT_DIST_DIR: dev ? '.next-dev' : '.next-e2e',
    NEXT_TELEMETRY_DISABLED: '1',
  };
  delete env.OPENAI_API_KEY;
  delete env.OPENAI_BASE_URL;

  const children: ChildProcess[] = [];
  const start = (name: string, args: string[], extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(path.join(logDir, `${name}.log`));
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    child.once('exit', (code, signal) => {
      if (!stopping)
        console.error(`[e2e] ${name} exited early (code ${code}, signal ${signal}); see test-results/logs/${name}.log`);
    });
    children.push(child);
    return child;
  };
  // Like `npm start`: a production server (so Secure session cookies, as a user gets them).
  start('web', [nextBin(root), dev ? 'dev' : 'start', '-p', String(port), '-H', '127.0.0.1'], {
    NODE_ENV: dev ? 'development' : 'production',
  });
  start('worker', ['--import', 'tsx', 'worker/index.ts']);

  writeFileSync(
    stateFile,
    JSON.stringify(
      {
        baseURL: `http://127.0.0.1:${port}`,
        rpcUrl: stack.anvil.url,
        chainId: stack.deployment.chainId,
        deployment: stack.deployment,
        x402: {
          mintUrl: x402.mintUrl(),
          tokenAddress: x402.tokenAddress,
          price: x402.price.toString(),
          mintAmount: x402.mintAmount.toString(),
        },
      },
      null,
      2,
    ),
  );
  console.log(`[e2e] stack up: web :${port}, anvil ${stack.anvil.url}, postgres ${stack.pg.port}`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all(children.map((c) => stopChild(c, 8000)));
    await x402.stop().catch(() => {});
    await stack.stop().catch((e) => console.error('[e2e] stack stop failed', e));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((error) => {
  console.error('[e2e] server failed to start', error);
  process.exit(1);
});
