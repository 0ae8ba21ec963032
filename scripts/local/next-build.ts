import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const nextBin = (root: string) => path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');

const SOURCES = ['app', 'components', 'lib', 'db', 'proxy.ts', 'next.config.mjs', 'package-lock.json', 'tsconfig.json'];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(p).reduce((max, entry) => Math.max(max, newestMtime(path.join(p, entry))), stat.mtimeMs);
}

const isFresh = (root: string, distDir: string) => {
  const buildId = path.join(root, distDir, 'BUILD_ID');
  const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  return built > Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s))));
};

/**
 * Runs `next build` when there is no build yet or a source file is newer than it. Test files run
 * in parallel and several start the app on one dist dir: one builds while the others wait for it
 * (two `next build`s into one dir fail), then find the build fresh.
 */
export async function buildIfStale(root: string, env: NodeJS.ProcessEnv, distDir = env.NEXT_DIST_DIR ?? '.next') {
  if (isFresh(root, distDir)) return false;
  return withBuildLock(path.join(root, `${distDir}.build-lock`), () => {
    if (isFresh(root, distDir)) return false;
    console.log(
      `[agent-mint] building the web app (next build${distDir === '.next' ? '' : `, ${distDir}`}) — once, then cached…`,
    );
    const result = spawnSync(process.execPath, [nextBin(root), 'build'], {
      cwd: root,
      env: { ...env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
      stdio: 'inherit',
    });
    if (result.status !== 0) throw new Error('next build failed');
    return true;
  });
}

// A build takes about two minutes on two cores; a lock held longer than this is not a build.
const BUILD_LOCK_WAIT_MS = 15 * 60_000;

/** Runs `fn` holding a lock directory (mkdir is atomic); a lock left by a dead process is taken over. */
async function withBuildLock<T>(lockDir: string, fn: () => T): Promise<T> {
  const ownerFile = path.join(lockDir, 'pid');
  const deadline = Date.now() + BUILD_LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(existsSync(ownerFile) ? readFileSync(ownerFile, 'utf8') : 0);
    if (owner > 0 && !isAlive(owner)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`waited ${BUILD_LOCK_WAIT_MS / 60_000} min for the build lock ${lockDir}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
