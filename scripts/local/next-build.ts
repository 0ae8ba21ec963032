import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const nextBin = (root: string) => path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next');

const SOURCES = ['app', 'components', 'lib', 'db', 'proxy.ts', 'next.config.mjs', 'package-lock.json', 'tsconfig.json'];

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(p).reduce((max, entry) => Math.max(max, newestMtime(path.join(p, entry))), stat.mtimeMs);
}

/** Runs `next build` when there is no build yet or a source file is newer than it. */
export async function buildIfStale(root: string, env: NodeJS.ProcessEnv, distDir = env.NEXT_DIST_DIR ?? '.next') {
  const buildId = path.join(root, distDir, 'BUILD_ID');
  const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s))));
  if (built > newest) return false;
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
}
