// `npm start`: the whole local stack in one process tree — embedded Postgres (when DATABASE_URL
// is unset), anvil with the contracts (CHAIN=local without RPC_URL), migrations, the web app and
// one worker. Ctrl-C stops every child; state under DATA_DIR survives for the next start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { recordKnownTokensAt } from '@/db/known-tokens';
import { migrateDatabase } from '@/db/migrate';
import { getChain } from '@/lib/chain/clients';
import { readDeployment, type Deployment } from '@/lib/chain/deployment';
import { getConfig } from '@/lib/config';
import { ensureKeyFile, readKeyFile } from '@/lib/key-file';
import { removeLocalStack, writeLocalStack } from '@/lib/local-stack';
import { startAnvil, stopChild, type Anvil } from './local/anvil';
import { buildIfStale, nextBin } from './local/next-build';
import { DEMO_ACCOUNT_INDEX, ensureLocalDeployment, fundOperator } from './local/deploy';
import { isPortFree, waitFor } from './local/ports';
import { startPostgres, type LocalPostgres } from './local/postgres';
import { printBanner } from './local/banner';
import { startX402MintServer, type X402MintServer } from './local/x402-mint-server';

const dev = process.argv.includes('--dev');
const config = getConfig();
const root = path.resolve(import.meta.dirname, '..');
const children: ChildProcess[] = [];
let pg: LocalPostgres | undefined;
let anvil: Anvil | undefined;
let x402Server: X402MintServer | undefined;
let stopping = false;

const say = (line: string) => console.log(`[agent-mint] ${line}`);

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(children.map((c) => stopChild(c, 10_000)));
  await x402Server?.stop();
  await anvil?.stop();
  await pg?.stop();
  rmSync(path.join(config.dataDir, 'stack.pid'), { force: true });
  removeLocalStack(config.dataDir);
  say('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
process.on('SIGTERM', () => void shutdown(0));

async function requirePort(port: number, what: string, variable: string) {
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} for ${what} is in use (another npm start?). Stop it or set ${variable}.`);
  }
}

function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv) {
  // Own process group: the terminal's Ctrl-C reaches only this script, which then sends each
  // child exactly one SIGTERM — the worker treats a second signal as "exit now, skip draining".
  const child = spawn(command, args, { cwd: root, env, stdio: 'inherit', detached: true });
  children.push(child);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? code}); stopping the stack`);
    void shutdown(1);
  });
  return child;
}

async function main() {
  if (config.localStack) {
    throw new Error(
      `npm start is already running with DATA_DIR ${config.dataDir} (pid ${config.localStack.pid}); stop it first, or give this one its own DATA_DIR and ports`,
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(path.join(config.dataDir, 'stack.pid'), String(process.pid));
  // PUBLIC_URL: the origin the web app checks sign-in messages and Origin headers against.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHAIN: config.chain,
    DATA_DIR: config.dataDir,
    PUBLIC_URL: config.publicUrl,
  };

  if (config.chain === 'local' && ensureKeyFile(config.agentKeyFile))
    say(`created key file ${config.agentKeyFile} (mode 0600)`);
  const keys = readKeyFile(config.agentKeyFile);
  const operator = privateKeyToAccount(keys.operatorPrivateKey as `0x${string}`).address;
  env.AGENT_KEY_FILE = config.agentKeyFile;

  if (!config.databaseUrl) {
    await requirePort(config.pgPort, 'embedded Postgres', 'PG_PORT');
    say(`starting embedded Postgres on port ${config.pgPort} (${path.join(config.dataDir, 'pg')})`);
    pg = await startPostgres({
      dataDir: path.join(config.dataDir, 'pg'),
      port: config.pgPort,
      logFile: path.join(config.dataDir, 'postgres.log'),
    });
  }
  const databaseUrl = config.databaseUrl ?? pg!.url;
  env.DATABASE_URL = databaseUrl;
  await migrateDatabase(databaseUrl);

  let deployment: Deployment | undefined;
  if (config.chain === 'local') {
    if (!config.env.RPC_URL) {
      await requirePort(config.anvilPort, 'anvil', 'ANVIL_PORT');
      say(`starting anvil on port ${config.anvilPort}`);
      anvil = await startAnvil({
        port: config.anvilPort,
        stateFile: path.join(config.dataDir, 'anvil-state.json'),
        logFile: path.join(config.dataDir, 'anvil.log'),
      });
    }
    env.RPC_URL = config.rpcUrl;
    await fundOperator(config.rpcUrl, operator);
    const result = await ensureLocalDeployment(config.rpcUrl, config.deploymentFile, operator, config.usdcAddress);
    deployment = result.deployment;
    env.DEPLOYMENT_FILE = config.deploymentFile;
    if (!result.fresh) say('reusing the deployed contracts');
    else if (config.usdcAddress)
      say(
        `USDC_ADDRESS is set: deployed the demo tokens priced in ${config.usdcAddress} (no TestUSDC; accounts get none of it from npm start)`,
      );
    else say('deployed TestUSDC and the demo tokens');

    // The local x402 demo endpoint (scripts/local/x402-mint-server.ts): plain http on 127.0.0.1,
    // so the app must be told it may call it (X402_ALLOWED_HOSTS, this host and port only).
    await requirePort(config.x402.mintPort, 'the x402 demo mint server', 'X402_MINT_PORT');
    x402Server = await startX402MintServer({
      rpcUrl: config.rpcUrl,
      usdc: deployment.usdc,
      port: config.x402.mintPort,
    });
    const demoHost = `127.0.0.1:${x402Server.port}`;
    env.X402_ALLOWED_HOSTS = [...config.x402.allowedHosts, demoHost].join(',');
    env.X402_DEMO_URL = x402Server.mintUrl();
    say(`x402 demo mint server on ${x402Server.url} (${x402Server.tokenAddress})`);

    // What `npm run ops`, `worker` and `deploy:token` in another terminal read when no variable is set.
    writeLocalStack(config.dataDir, {
      pid: process.pid,
      databaseUrl,
      rpcUrl: config.rpcUrl,
      deploymentFile: config.deploymentFile,
      agentKeyFile: config.agentKeyFile,
      publicUrl: config.publicUrl,
    });
  }
  // Tokens this install deployed (the demo tokens, `deploy:token`'s) are the ones tasks may mint;
  // recorded here too because deploy:token may have run where the database was not reachable.
  const deployed = deployment ?? readDeployment(config.deploymentFile);
  if (deployed && deployed.chainId === getChain().id) {
    await recordKnownTokensAt(databaseUrl, { chainId: deployed.chainId, source: 'deployed', tokens: deployed.tokens });
  }

  const port = String(config.port);
  if (dev) {
    run('web', process.execPath, [nextBin(root), 'dev', '-p', port], { ...env, NODE_ENV: 'development' });
  } else {
    await buildIfStale(root, env);
    run('web', process.execPath, [nextBin(root), 'start', '-p', port], { ...env, NODE_ENV: 'production' });
  }
  run('worker', process.execPath, ['--import', 'tsx', 'worker/index.ts'], env);

  const local = `http://localhost:${port}`;
  await waitFor(async () => (await fetch(`${local}/health`)).ok, {
    timeoutMs: 120_000,
    intervalMs: 500,
    what: `${local}/health`,
  });
  await printBanner({
    url: config.publicUrl,
    config,
    deployment,
    demoIndex: DEMO_ACCOUNT_INDEX,
    operator,
    x402: x402Server,
  });
}

main().catch(async (error) => {
  console.error(`[agent-mint] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  await shutdown(1);
});
