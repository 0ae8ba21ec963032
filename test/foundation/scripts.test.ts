import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther, parseUnits, type Address } from 'viem';
import { getKnownToken } from '@/db/known-tokens';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { readDeployment } from '@/lib/chain/deployment';
import { parseConfig } from '@/lib/config';
import { freePort } from '@/scripts/local/ports';
import { startTestStack, type TestStack } from '@/test/support/stack';
import { chainClients } from '../contracts/chain-helpers';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

/** Runs a script the way npm does (tsx), with the given env; never throws, returns the exit code. */
async function script(file: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

describe('npm run deploy:token', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  const terms = (address: Address) => {
    const { publicClient } = chainClients(stack.anvil.url);
    const read = <
      F extends
        'name' | 'symbol' | 'pricePerMint' | 'mintAmount' | 'maxMintCount' | 'mintSigner' | 'paymentToken' | 'owner',
    >(
      functionName: F,
    ) => publicClient.readContract({ address, abi: paidMintTokenAbi, functionName });
    return Promise.all([
      read('name'),
      read('symbol'),
      read('pricePerMint'),
      read('mintAmount'),
      read('maxMintCount'),
      read('mintSigner'),
      read('paymentToken'),
      read('owner'),
    ]);
  };

  it('deploys from the operator with the operator as signer, records it, and prints the address', async () => {
    const out = await script(
      'scripts/deploy-token.ts',
      ['--name', 'Agent Pass', '--symbol', 'PASS', '--price', '0.1', '--amount', '1000', '--max', '10000'],
      stack.env,
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const address = out.stdout.trim().split('\n').at(-1) as Address;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(await terms(address)).toEqual([
      'Agent Pass',
      'PASS',
      parseUnits('0.1', 6),
      parseEther('1000'),
      10_000n,
      stack.operator,
      stack.deployment.usdc,
      stack.operator,
    ]);
    const recorded = readDeployment(stack.env.DEPLOYMENT_FILE!)!;
    expect(recorded.usdc).toBe(stack.deployment.usdc);
    expect(recorded.tokens.map((t) => t.symbol)).toEqual(['DMT', 'APX', 'PASS']);
    expect(recorded.tokens[2]).toEqual({ address, name: 'Agent Pass', symbol: 'PASS' });
    // …and in the database, as a token AgentMint deployed (so tasks may mint it).
    expect(out.stdout).toContain('recorded in the database');
    expect(await getKnownToken({ chainId: 31337, address })).toMatchObject({ source: 'deployed', symbol: 'PASS' });
  });

  it('takes another mint signer with --signer', async () => {
    const signer = '0x00000000000000000000000000000000000000aa';
    const out = await script(
      'scripts/deploy-token.ts',
      ['--name', 'Other', '--symbol', 'OTH', '--price', '2.5', '--amount', '0.5', '--max', '3', '--signer', signer],
      stack.env,
    );
    expect(out.code).toBe(0);
    const address = out.stdout.trim().split('\n').at(-1) as Address;
    const [, , price, amount, max, mintSigner] = await terms(address);
    expect([price, amount, max, mintSigner]).toEqual([
      2_500_000n,
      parseEther('0.5'),
      3n,
      '0x00000000000000000000000000000000000000AA',
    ]);
    expect(out.stdout).toContain('mintSignerKeys');
    expect(readDeployment(stack.env.DEPLOYMENT_FILE!)!.tokens).toHaveLength(4);
  });

  it.each([
    [['--symbol', 'X', '--price', '1', '--amount', '1', '--max', '1'], '--name is required'],
    [
      ['--name', 'X', '--symbol', 'X', '--price', 'abc', '--amount', '1', '--max', '1'],
      '--price must be a positive decimal number',
    ],
    [['--name', 'X', '--symbol', 'X', '--price', '0', '--amount', '1', '--max', '1'], '--price must be above 0'],
    [['--name', 'X', '--symbol', 'X', '--price', '1', '--amount', '1', '--max', '0'], '--max must be a whole number'],
    [
      ['--name', 'X', '--symbol', 'X', '--price', '1', '--amount', '1', '--max', '1', '--signer', '0x12'],
      '--signer must be',
    ],
  ])('refuses bad arguments %j without deploying', async (args, message) => {
    const out = await script('scripts/deploy-token.ts', args, stack.env);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain('usage: npm run deploy:token');
  });

  it('deploy:executor deploys an AgentBatchExecutor and records it beside the tokens already there', async () => {
    const before = readDeployment(stack.env.DEPLOYMENT_FILE!)!;
    const out = await script('scripts/deploy-executor.ts', [], stack.env);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const address = out.stdout.trim().split('\n').at(-1) as Address;
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(await chainClients(stack.anvil.url).publicClient.getCode({ address })).toMatch(/^0x[0-9a-f]{2,}/);
    expect(readDeployment(stack.env.DEPLOYMENT_FILE!)).toEqual({ ...before, batchExecutor: address });
  });

  it.each(['deploy-token', 'deploy-executor'])(
    '%s refuses a deployment file recorded for another chain and deploys nothing',
    async (name) => {
      const file = path.join(path.dirname(stack.env.DEPLOYMENT_FILE!), `${name}-mainnet.json`);
      const mainnet = JSON.stringify({ chainId: 1, usdc: stack.deployment.usdc, tokens: [], deployedAt: 'then' });
      writeFileSync(file, mainnet);
      const nonce = await chainClients(stack.anvil.url).publicClient.getTransactionCount({ address: stack.operator });
      const args =
        name === 'deploy-token' ? ['--name', 'X', '--symbol', 'X', '--price', '1', '--amount', '1', '--max', '1'] : [];
      const out = await script(`scripts/${name}.ts`, args, { ...stack.env, DEPLOYMENT_FILE: file });
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`${file} records chain 1, not 31337: set DEPLOYMENT_FILE for this chain`);
      expect(readFileSync(file, 'utf8')).toBe(mainnet);
      expect(await chainClients(stack.anvil.url).publicClient.getTransactionCount({ address: stack.operator })).toBe(
        nonce,
      );
    },
  );
});

describe('npm run reset', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'agentmint-reset-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  async function dataDir(name: string) {
    const dir = path.join(base, name);
    mkdirSync(path.join(dir, 'pg'), { recursive: true });
    writeFileSync(path.join(dir, 'pg', 'PG_VERSION'), '18\n');
    writeFileSync(path.join(dir, 'anvil-state.json'), '{}');
    writeFileSync(path.join(dir, 'deployment.json'), '{}');
    const env = {
      DATA_DIR: dir,
      PG_PORT: String(await freePort()),
      ANVIL_PORT: String(await freePort()),
      DATABASE_URL: '',
      RPC_URL: '',
      DEPLOYMENT_FILE: '',
    };
    return { dir, env };
  }

  it('removes the data dir (chain and database together) and says what it removed', async () => {
    const { dir, env } = await dataDir('idle');
    writeFileSync(path.join(dir, 'stack.pid'), '999999999'); // a stale pid file from a crash
    const out = await script('scripts/reset.ts', [], env);
    expect(out.code).toBe(0);
    expect(existsSync(dir)).toBe(false);
    for (const entry of ['pg/', 'anvil-state.json', 'deployment.json', 'stack.pid'])
      expect(out.stdout).toContain(entry);
    const again = await script('scripts/reset.ts', [], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to reset');
  });

  it('refuses while npm start runs (live stack.pid) and deletes nothing', async () => {
    const { dir, env } = await dataDir('running');
    writeFileSync(path.join(dir, 'stack.pid'), String(process.pid));
    const out = await script('scripts/reset.ts', [], env);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`npm start is running (pid ${process.pid})`);
    expect(existsSync(path.join(dir, 'pg', 'PG_VERSION'))).toBe(true);
  });

  it('refuses while the Postgres or anvil port is taken', async () => {
    const { dir, env } = await dataDir('busy');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(Number(env.ANVIL_PORT), '127.0.0.1', resolve));
    try {
      const out = await script('scripts/reset.ts', [], env);
      expect(out.code).toBe(1);
      expect(out.stderr).toContain(`port ${env.ANVIL_PORT} (ANVIL_PORT) is in use`);
      expect(existsSync(path.join(dir, 'anvil-state.json'))).toBe(true);
    } finally {
      server.close();
    }
  });

  it('refuses a DATA_DIR that holds the project, home or root (checked in-process: nothing is run)', async () => {
    const { reasonNotToReset } = await import('@/scripts/reset');
    const ports = { PG_PORT: String(await freePort()), ANVIL_PORT: String(await freePort()) };
    for (const dir of [root, path.dirname(root), os.homedir(), '/']) {
      expect(await reasonNotToReset(parseConfig({ ...ports, DATA_DIR: dir }))).toContain(
        'not a data directory of its own',
      );
    }
    expect(await reasonNotToReset(parseConfig({ ...ports, DATA_DIR: path.join(base, 'fresh') }))).toBeUndefined();
  });
});
