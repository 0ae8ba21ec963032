import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { buildIfStale, nextBin } from './next-build';
import { freePort, waitFor } from './ports';

const root = path.resolve(import.meta.dirname, '../..');

export type NextServer = {
  url: string;
  child: ChildProcess;
  /** Resolves when the server process exits, whoever ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
};

/**
 * `next start` of the production build in `distDir` (built first when a source is newer), as one
 * web process of a private stack: its own process group, so stopping it stops anything it forked.
 * Resolves once `/api/ping` answers. Output goes to `logFile`, or nowhere.
 */
export async function startNextServer({
  distDir,
  env,
  logFile,
}: {
  distDir: string;
  env: Record<string, string>;
  logFile?: string;
}): Promise<NextServer> {
  await buildIfStale(root, { ...process.env, ...env, NEXT_DIST_DIR: distDir }, distDir);
  const port = await freePort();
  const child = spawn(process.execPath, [nextBin(root), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      NODE_ENV: 'production',
      NEXT_DIST_DIR: distDir,
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
    },
    stdio: ['ignore', logFile ? 'pipe' : 'ignore', logFile ? 'pipe' : 'ignore'],
    detached: true,
  });
  if (logFile) {
    const log = createWriteStream(logFile);
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      /* already gone */
    }
  };
  const stop = async (graceMs = 5_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => child.exitCode === null && (await fetch(`${url}/api/ping`)).ok, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'next start',
    });
  } catch (error) {
    await stop(1_000);
    throw error;
  }
  return { url, child, exited, stop };
}
