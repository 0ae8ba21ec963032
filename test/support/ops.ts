import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

export type OpsRun = { code: number; stdout: string; stderr: string; json: any };

/** `npm run ops -- …` as an operator runs it (tsx scripts/ops.ts) with the stack's env, stdout piped. */
export function runOps(env: Record<string, string | undefined>, ...args: string[]): Promise<OpsRun> {
  return new Promise((resolve) => {
    execFile(
      path.resolve(root, 'node_modules/.bin/tsx'),
      ['scripts/ops.ts', ...args],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        let json: unknown;
        try {
          json = JSON.parse(stdout);
        } catch {
          json = undefined;
        }
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr, json });
      },
    );
  });
}
