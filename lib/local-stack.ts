import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

// `npm start` records where its embedded Postgres, chain and files are in DATA_DIR/stack.json,
// so that `npm run ops`, `npm run worker` and `npm run deploy:token` in another terminal find
// the running stack without any variable set. Read only while the recorded process lives.

const stackSchema = z.object({
  pid: z.number().int().positive(),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//),
  rpcUrl: z.string().url(),
  deploymentFile: z.string(),
  agentKeyFile: z.string(),
  publicUrl: z.string().url().optional(),
});

export type LocalStack = z.infer<typeof stackSchema>;

export const localStackFile = (dataDir: string) => path.join(/*turbopackIgnore: true*/ dataDir, 'stack.json');

/** Whether process `pid` exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else (e.g. postgres run as its own user).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The stack `npm start` is running with this DATA_DIR, or undefined (none, or it has stopped). */
export function readLocalStack(dataDir: string): LocalStack | undefined {
  const file = localStackFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const stack = stackSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    return isProcessAlive(stack.pid) ? stack : undefined;
  } catch {
    return undefined; // half-written or from another version: as if nothing ran
  }
}

/** Written by `npm start` once its database and chain are up (mode 0600: it holds the database password). */
export function writeLocalStack(dataDir: string, stack: LocalStack): void {
  writeFileSync(localStackFile(dataDir), JSON.stringify(stack, null, 2) + '\n', { mode: 0o600 });
}

export function removeLocalStack(dataDir: string): void {
  rmSync(localStackFile(dataDir), { force: true });
}
