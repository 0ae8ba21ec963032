// `npm run reset`: wipes DATA_DIR (.data/) — the embedded database, the anvil state and the
// deployment record together, so chain and database can never disagree. Refuses while the
// stack runs. The key file (AGENT_KEY_FILE, outside .data/ by default) is kept.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getConfig, type Config } from '@/lib/config';
import { isProcessAlive } from '@/lib/local-stack';
import { isPortFree } from './local/ports';

const pidIn = (file: string) =>
  existsSync(file) ? Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10) : NaN;

/** Why the data dir must not be removed now, or undefined when it is safe. */
export async function reasonNotToReset(config: Config): Promise<string | undefined> {
  const dir = config.dataDir;
  const cwd = process.cwd();
  if (dir === path.parse(dir).root || dir === os.homedir() || !path.relative(dir, cwd).startsWith('..')) {
    return `DATA_DIR ${dir} is not a data directory of its own (it holds the project, your home or the root); refusing to delete it`;
  }
  const stackPid = pidIn(path.join(dir, 'stack.pid'));
  if (isProcessAlive(stackPid)) return `npm start is running (pid ${stackPid}); stop it with Ctrl-C first`;
  const pgPid = pidIn(path.join(dir, 'pg', 'postmaster.pid'));
  if (isProcessAlive(pgPid)) return `the embedded Postgres of ${dir} is running (pid ${pgPid}); stop npm start first`;
  if (!config.databaseUrl && !(await isPortFree(config.pgPort))) {
    return `port ${config.pgPort} (PG_PORT) is in use, so the stack may be running; stop npm start first (or set PG_PORT if something else uses it)`;
  }
  if (config.chain === 'local' && !config.env.RPC_URL && !(await isPortFree(config.anvilPort))) {
    return `port ${config.anvilPort} (ANVIL_PORT) is in use, so anvil may be running; stop npm start first (or set ANVIL_PORT if something else uses it)`;
  }
  return undefined;
}

function sizeOf(target: string): number {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of readdirSync(target)) total += sizeOf(path.join(target, entry));
  return total;
}

const human = (bytes: number) =>
  bytes >= 1 << 20
    ? `${(bytes / (1 << 20)).toFixed(1)} MB`
    : bytes >= 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${bytes} B`;

/** Removes the data dir and returns one line per top-level entry removed. */
export function removeDataDir(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed = readdirSync(dir)
    .sort()
    .map(
      (entry) =>
        `${entry}${statSync(path.join(dir, entry)).isDirectory() ? '/' : ''} (${human(sizeOf(path.join(dir, entry)))})`,
    );
  rmSync(dir, { recursive: true, force: true });
  return removed;
}

async function main() {
  const config = getConfig();
  const reason = await reasonNotToReset(config);
  if (reason) {
    console.error(`reset refused: ${reason}`);
    process.exit(1);
  }
  const existed = existsSync(config.dataDir);
  const removed = removeDataDir(config.dataDir);
  if (!existed) {
    console.log(`nothing to reset: ${config.dataDir} does not exist`);
  } else {
    console.log(`removed ${config.dataDir}:`);
    for (const line of removed) console.log(`  ${line}`);
  }
  if (!config.deploymentFile.startsWith(config.dataDir + path.sep)) {
    console.log(`kept DEPLOYMENT_FILE ${config.deploymentFile} (outside DATA_DIR)`);
  }
  console.log(`kept the key file ${config.agentKeyFile}; the next npm start creates a fresh chain and database`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`reset failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
