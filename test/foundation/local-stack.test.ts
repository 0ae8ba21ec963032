import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Address } from 'viem';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { loadConfig, parseConfig } from '@/lib/config';
import { writeLocalStack } from '@/lib/local-stack';
import { printBanner } from '@/scripts/local/banner';
import { ensureLocalDeployment } from '@/scripts/local/deploy';
import { freePort } from '@/scripts/local/ports';
import { startPostgres } from '@/scripts/local/postgres';
import { createPendingTask, user } from '@/test/support/fixtures';
import { startTestStack, type TestStack } from '@/test/support/stack';
import { chainClients } from '../contracts/chain-helpers';

// Operator commands in a second terminal find the running `npm start` through DATA_DIR/stack.json,
// and npm start against an existing USDC prices its demo tokens in it.

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

let stack: TestStack;
let dataDir: string;
beforeAll(async () => {
  stack = await startTestStack();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'agentmint-stackjson-'));
});
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await stack?.stop();
});

/** A script as a user runs it in a fresh terminal: only DATA_DIR (and PATH etc.), none of the stack's variables. */
async function bare(file: string, args: string[], extra: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(stack.env)) delete env[name];
  Object.assign(env, { DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...extra });
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: root,
      env,
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

const record = (pid: number) =>
  writeLocalStack(dataDir, {
    pid,
    databaseUrl: stack.env.DATABASE_URL!,
    rpcUrl: stack.env.RPC_URL!,
    deploymentFile: stack.env.DEPLOYMENT_FILE!,
    agentKeyFile: stack.keyFile,
  });

describe('operator commands find the running stack', () => {
  it('npm run ops answers from the database and chain npm start recorded, with no variable set', async () => {
    const task = await createPendingTask({
      userAddress: user(4).address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    record(process.pid); // this process stands in for the running npm start
    const out = await bare('scripts/ops.ts', ['tasks', '--json']);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { id: string }[]).map((t) => t.id)).toContain(task.id);
  });

  it('says to start the stack when none is running (no stack.json, or its process is gone)', async () => {
    record(2 ** 22 + 12345); // above Linux's pid_max default: no such process
    const out = await bare('scripts/ops.ts', ['tasks', '--json']);
    expect(out.code).toBe(1);
    expect(out.stdout + out.stderr).toMatch(/DATABASE_URL is not set, and no `npm start` is running.*npm start/);
  });

  it('npm run deploy:token deploys on the recorded chain with the recorded key file and deployment', async () => {
    record(process.pid);
    const out = await bare('scripts/deploy-token.ts', [
      '--name',
      'Found It',
      '--symbol',
      'FND',
      '--price',
      '0.5',
      '--amount',
      '1',
      '--max',
      '5',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('0.5 USDC per mint');
  });

  it('deploy:token without a key file or a running stack says exactly what to do', async () => {
    rmSync(path.join(dataDir, 'stack.json'));
    const out = await bare(
      'scripts/deploy-token.ts',
      ['--name', 'X', '--symbol', 'X', '--price', '1', '--amount', '1', '--max', '1'],
      {
        AGENT_KEY_FILE: path.join(dataDir, 'missing.key'),
        RPC_URL: stack.env.RPC_URL!,
        USDC_ADDRESS: stack.deployment.usdc,
      },
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/does not exist\. On CHAIN=local, `npm start` creates it: start the stack first/);
  });

  it('fills in only what is unset, and only on CHAIN=local', () => {
    record(process.pid);
    const found = loadConfig({ DATA_DIR: dataDir });
    expect(found).toMatchObject({
      databaseUrl: stack.env.DATABASE_URL,
      rpcUrl: stack.env.RPC_URL,
      agentKeyFile: stack.keyFile,
      deploymentFile: stack.env.DEPLOYMENT_FILE,
    });
    const explicit = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: 'postgres://u:p@elsewhere:5432/x' });
    expect(explicit.databaseUrl).toBe('postgres://u:p@elsewhere:5432/x');
    expect(explicit.localStack).toBeUndefined();
    expect(
      loadConfig({ DATA_DIR: dataDir, AGENT_KEY_FILE: '/etc/agent.key', RPC_URL: 'http://127.0.0.1:1' }),
    ).toMatchObject({ agentKeyFile: '/etc/agent.key', rpcUrl: 'http://127.0.0.1:1' });
    expect(
      loadConfig({
        DATA_DIR: dataDir,
        CHAIN: 'base-sepolia',
        PUBLIC_URL: 'https://mint.example',
        METRICS_TOKEN: 'x'.repeat(32),
      }).databaseUrl,
    ).toBeUndefined();
  });
});

describe('npm start with an existing USDC', () => {
  const paymentToken = (address: Address) =>
    chainClients(stack.anvil.url).publicClient.readContract({
      address,
      abi: paidMintTokenAbi,
      functionName: 'paymentToken',
    });

  it('prices the demo tokens in the given USDC and deploys no TestUSDC', async () => {
    const usdc = stack.deployment.usdc; // stands in for Circle's USDC already on the chain
    const file = path.join(dataDir, 'deployment-usdc.json');
    const first = await ensureLocalDeployment(stack.anvil.url, file, stack.operator);
    expect(first.deployment.usdc).not.toBe(usdc); // without it: a TestUSDC of its own
    const { deployment, fresh } = await ensureLocalDeployment(stack.anvil.url, file, stack.operator, usdc);
    expect(fresh).toBe(true); // the recorded tokens were priced in the other USDC
    expect(deployment.usdc).toBe(usdc);
    for (const t of deployment.tokens) expect(await paymentToken(t.address)).toBe(usdc);
  });

  it('the banner names TestUSDC or USDC for what it is and prints each token price from the chain', async () => {
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
    const deployed = await bare(
      'scripts/deploy-token.ts',
      ['--name', 'Half', '--symbol', 'HALF', '--price', '0.5', '--amount', '1', '--max', '5'],
      stack.env,
    );
    const half = deployed.stdout.trim().split('\n').at(-1) as Address;
    const deployment = {
      ...stack.deployment,
      tokens: [{ address: half, name: 'Half', symbol: 'HALF' }, ...stack.deployment.tokens],
    };
    try {
      const local = parseConfig({ ...stack.env });
      await printBanner({
        url: 'http://localhost:3000',
        config: local,
        deployment,
        demoIndex: 1,
        operator: stack.operator,
      });
      await printBanner({
        url: 'http://localhost:3000',
        config: { ...local, usdcAddress: stack.deployment.usdc },
        deployment,
        demoIndex: 1,
        operator: stack.operator,
      });
    } finally {
      spy.mockRestore();
    }
    const [asTest, asReal] = logs;
    expect(asTest).toMatch(/TestUSDC\s+0x/);
    expect(asTest).toMatch(/HALF 0x[0-9a-fA-F]{40} {2}\(0\.5 test USDC per mint\)/);
    expect(asTest).toMatch(/DMT {2}0x[0-9a-fA-F]{40} {2}\(0\.1 test USDC per mint\)/);
    expect(asReal).toMatch(/ USDC\s+0x/);
    expect(asReal).not.toContain('TestUSDC');
    expect(asReal).toMatch(/HALF 0x[0-9a-fA-F]{40} {2}\(0\.5 USDC per mint\)/);
  });
});

describe.runIf(process.getuid?.() === 0)('embedded Postgres as root', () => {
  it('starts under a directory only its owner could enter (mktemp -d), adding o+x to it', async () => {
    const privateDir = mkdtempSync(path.join(os.tmpdir(), 'agentmint-0700-')); // mode 0700, as mktemp -d
    expect(statSync(privateDir).mode & 0o777).toBe(0o700);
    mkdirSync(path.join(privateDir, 'data'), { mode: 0o700 });
    const pg = await startPostgres({
      dataDir: path.join(privateDir, 'data', 'pg'),
      port: await freePort(),
      fast: true,
    });
    try {
      expect(statSync(privateDir).mode & 0o777).toBe(0o701);
    } finally {
      await pg.stop();
      rmSync(privateDir, { recursive: true, force: true });
    }
  });
});
