import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { recordKnownTokensAt } from '@/db/known-tokens';
import { migrateDatabase } from '@/db/migrate';
import { writeDeployment, type Deployment } from '@/lib/chain/deployment';
import { writeKeyFile } from '@/lib/key-file';
import { startAnvil, type Anvil } from '../local/anvil';
import { deployLocalContracts, fundOperator } from '../local/deploy';
import { freePort } from '../local/ports';
import { startPostgres, type LocalPostgres } from '../local/postgres';
import { startRpcProxy, type RpcProxy } from './rpc-proxy';

/**
 * The chaos run's own stack, nothing shared with a developer's: embedded Postgres and anvil on
 * free ports in a temp dir, contracts deployed, migrations applied, a fresh key file. Workers
 * reach the chain through `proxy` (so it can be cut) and the database directly (so it can be
 * restarted); this process talks to anvil directly, as a web tier on another host would.
 */
export type ChaosStack = {
  dir: string;
  anvil: Anvil;
  proxy: RpcProxy;
  deployment: Deployment;
  /** This process's env (also applied to process.env); workers get it with RPC_URL = the proxy. */
  env: Record<string, string>;
  workerEnv: Record<string, string>;
  restartPostgres(downMs: number): Promise<void>;
  /** Stops everything; the temp dir (worker logs, database) is kept when `keep` is set. */
  stop(keep?: boolean): Promise<void>;
};

export async function startChaosStack(workerSettings: Record<string, string>): Promise<ChaosStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentmint-chaos-'));
  chmodSync(dir, 0o755);
  const pgOptions = { dataDir: path.join(dir, 'pg'), port: await freePort(), fast: true };
  let pg: LocalPostgres = await startPostgres(pgOptions);
  await migrateDatabase(pg.url);

  const operatorPrivateKey = generatePrivateKey();
  const operator = privateKeyToAccount(operatorPrivateKey).address;
  const keyFile = path.join(dir, 'private.key');
  writeKeyFile(keyFile, { agentEncryptionKey: randomBytes(32).toString('hex'), previousAgentEncryptionKeys: [], operatorPrivateKey, mintSignerKeys: [], sessionSecret: randomBytes(32).toString('hex') });

  const anvil = await startAnvil({ port: await freePort() });
  await fundOperator(anvil.url, operator);
  const deployment = await deployLocalContracts(anvil.url, operator);
  const deploymentFile = path.join(dir, 'deployment.json');
  writeDeployment(deploymentFile, deployment);
  await recordKnownTokensAt(pg.url, { chainId: deployment.chainId, source: 'deployed', tokens: deployment.tokens });
  const proxy = await startRpcProxy(anvil.port);

  const env: Record<string, string> = {
    NODE_ENV: 'test',
    CHAIN: 'local',
    RPC_URL: anvil.url,
    DATABASE_URL: pg.url,
    DATA_DIR: dir,
    DEPLOYMENT_FILE: deploymentFile,
    AGENT_KEY_FILE: keyFile,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PAYMENT_TIMEOUT: '600',
    ...workerSettings,
  };
  Object.assign(process.env, env);
  return {
    dir,
    anvil,
    proxy,
    deployment,
    env,
    workerEnv: { ...env, RPC_URL: proxy.url },
    async restartPostgres(downMs) {
      await pg.stop();
      await new Promise((r) => setTimeout(r, downMs));
      pg = await startPostgres(pgOptions);
    },
    async stop(keep = false) {
      const { closeDb } = await import('@/db/client');
      await closeDb().catch(() => {});
      await proxy.close();
      await anvil.stop();
      await pg.stop();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
