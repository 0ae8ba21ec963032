import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { recordKnownTokensAt } from '@/db/known-tokens';
import { migrateDatabase } from '@/db/migrate';
import { writeDeployment, type Deployment } from '@/lib/chain/deployment';
import { newKeyFile, writeKeyFile, type KeyFile } from '@/lib/key-file';
import { startAnvil, type Anvil } from './anvil';
import { deployLocalContracts, fundOperator } from './deploy';
import { freePort } from './ports';
import { startPostgres, type LocalPostgres } from './postgres';

export type TempStackOptions = {
  /** The temp dir's name prefix (os.tmpdir()/<prefix>XXXXXX). */
  prefix: string;
  /** Env over the stack's own, for this process and any child it starts. */
  env?: Record<string, string>;
  blockTime?: number;
  /** Give anvil a state file (`<dir>/anvil-state.json`) so it can be stopped and restarted. */
  anvilState?: boolean;
  /** Skip the chain (schema-only tests). */
  chain?: boolean;
};

export type TempStack = {
  dir: string;
  /** The running Postgres (a new one after restartPostgres). */
  readonly pg: LocalPostgres;
  /** Undefined only with `chain: false`. */
  anvil: Anvil | undefined;
  deployment: Deployment;
  keys: KeyFile;
  keyFile: string;
  operator: `0x${string}`;
  /** The environment a process of this stack runs with (also applied to this process). */
  env: Record<string, string>;
  /** Stops Postgres and starts it again on the same port and data after `downMs`. */
  restartPostgres(downMs: number): Promise<void>;
  /** Stops everything; the temp dir is kept when `keep` is set. */
  stop(keep?: boolean): Promise<void>;
};

/**
 * A stack of its own, nothing shared with a developer's `npm start`: embedded Postgres and
 * anvil on free ports in a fresh temp dir, migrations applied, a fresh key file, the local
 * contracts deployed and their tokens recorded as known (as `npm start` does). The tests'
 * stack and the chaos run's are both this. Sets process.env before any lib module reads
 * config, so call it before importing modules that connect.
 */
export async function startTempStack(options: TempStackOptions): Promise<TempStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), options.prefix));
  chmodSync(dir, 0o755);
  const pgOptions = { dataDir: path.join(dir, 'pg'), port: await freePort(), fast: true };
  let pg = await startPostgres(pgOptions);
  await migrateDatabase(pg.url);

  const keys = newKeyFile();
  const keyFile = path.join(dir, 'private.key');
  writeKeyFile(keyFile, keys);
  const operator = privateKeyToAccount(keys.operatorPrivateKey as `0x${string}`).address;

  let anvil: Anvil | undefined;
  let deployment: Deployment = {
    chainId: 31337,
    usdc: '0x0000000000000000000000000000000000000000',
    tokens: [],
    deployedAt: '',
  };
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
    ...options.env,
  };
  Object.assign(process.env, env);

  return {
    dir,
    get pg() {
      return pg;
    },
    anvil,
    deployment,
    keys,
    keyFile,
    operator,
    env,
    async restartPostgres(downMs) {
      await pg.stop();
      await new Promise((r) => setTimeout(r, downMs));
      pg = await startPostgres(pgOptions);
    },
    async stop(keep = false) {
      const { closeDb } = await import('@/db/client');
      await closeDb().catch(() => {});
      await anvil?.stop();
      await pg.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
