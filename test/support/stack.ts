import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { randomBytes } from 'node:crypto';
import { recordKnownTokensAt } from '@/db/known-tokens';
import { migrateDatabase } from '@/db/migrate';
import { writeDeployment, type Deployment } from '@/lib/chain/deployment';
import '@/lib/config'; // provides db/ its settings (db/settings.ts), read from the env set below
import { writeKeyFile, type KeyFile } from '@/lib/key-file';
import { startAnvil, type Anvil } from '@/scripts/local/anvil';
import { deployLocalContracts, fundOperator } from '@/scripts/local/deploy';
import { freePort } from '@/scripts/local/ports';
import { startPostgres, type LocalPostgres } from '@/scripts/local/postgres';

export type TestStack = {
  dir: string;
  pg: LocalPostgres;
  anvil: Anvil;
  deployment: Deployment;
  keys: KeyFile;
  keyFile: string;
  operator: `0x${string}`;
  /** The environment a process of this stack runs with (also applied to this process). */
  env: Record<string, string>;
  stop(): Promise<void>;
};

/** Set by a batched re-run of a suite (test/worker/batched-suites.ts) before it imports that suite. */
export function mintExecutionUnderTest(): 'single' | 'batch' {
  return (globalThis as { mintExecutionUnderTest?: 'single' | 'batch' }).mintExecutionUnderTest ?? 'single';
}

export type TestStackOptions = {
  /** Extra env (e.g. MINT_INTERVAL_MS) for this process and any child it starts. */
  env?: Record<string, string>;
  blockTime?: number;
  /** Give anvil a state file (`<dir>/anvil-state.json`) so it can be stopped and restarted. */
  anvilState?: boolean;
  /** Skip the chain (schema-only tests). */
  chain?: boolean;
};

/**
 * A private stack for one test file: real Postgres and real anvil on free ports in a fresh
 * temp dir, contracts deployed, migrations applied, a key file. Sets process.env before any
 * lib module reads config, so call it in beforeAll before importing modules that connect.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentmint-test-'));
  chmodSync(dir, 0o755);
  const pg = await startPostgres({ dataDir: path.join(dir, 'pg'), port: await freePort(), fast: true });
  await migrateDatabase(pg.url);

  const keys: KeyFile = {
    agentEncryptionKey: randomBytes(32).toString('hex'),
    previousAgentEncryptionKeys: [],
    operatorPrivateKey: generatePrivateKey(),
    mintSignerKeys: [],
    sessionSecret: randomBytes(32).toString('hex'),
  };
  const keyFile = path.join(dir, 'private.key');
  writeKeyFile(keyFile, keys);
  const operator = privateKeyToAccount(keys.operatorPrivateKey as `0x${string}`).address;

  let anvil: Anvil | undefined;
  let deployment: Deployment = { chainId: 31337, usdc: '0x0000000000000000000000000000000000000000', tokens: [], deployedAt: '' };
  const deploymentFile = path.join(dir, 'deployment.json');
  if (options.chain !== false) {
    const stateFile = options.anvilState ? path.join(dir, 'anvil-state.json') : undefined;
    anvil = await startAnvil({ port: await freePort(), blockTime: options.blockTime, stateFile });
    await fundOperator(anvil.url, operator);
    deployment = await deployLocalContracts(anvil.url, operator);
    writeDeployment(deploymentFile, deployment);
    // As `npm start` does: the demo tokens are the tokens AgentMint knows.
    await recordKnownTokensAt(pg.url, { chainId: deployment.chainId, source: 'deployed', tokens: deployment.tokens });
  }

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    CHAIN: 'local',
    RPC_URL: anvil?.url ?? 'http://127.0.0.1:9',
    DATABASE_URL: pg.url,
    DATA_DIR: dir,
    DEPLOYMENT_FILE: deploymentFile,
    AGENT_KEY_FILE: keyFile,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    MINT_INTERVAL_MS: '0',
    // The one-transaction-per-mint path unless a test asks for EIP-7702 batches (MINT_EXECUTION=batch
    // in its env, or a whole suite re-run batched: test/worker/batched-suites.ts).
    MINT_EXECUTION: mintExecutionUnderTest(),
    // The origin route tests call (test/support/routes.ts BASE); SIWE and Origin checks use it.
    PUBLIC_URL: 'http://localhost:3000',
    ...options.env,
  };
  Object.assign(process.env, env);

  return {
    dir,
    pg,
    anvil: anvil as Anvil,
    deployment,
    keys,
    keyFile,
    operator,
    env,
    async stop() {
      const { closeDb } = await import('@/db/client');
      await closeDb().catch(() => {});
      await anvil?.stop();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
