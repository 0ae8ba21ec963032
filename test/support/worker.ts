import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Reporter } from '@/worker/reporter';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * An in-process MintWorker, started. Its modules are imported only now, once the test stack
 * has set the environment they read; a start that fails stops what it began.
 */
export async function startMintWorker(options?: { id?: string; reporter?: Reporter }) {
  const { MintWorker } = await import('@/worker/loop');
  const worker = new MintWorker(options);
  try {
    await worker.start();
  } catch (error) {
    await worker.stop();
    throw error;
  }
  return worker;
}

export type WorkerChild = {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** The real worker as a child process (the way `npm run worker` runs it). */
export function spawnWorker(env: Record<string, string>): WorkerChild {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/index.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

export async function killWorker(worker: WorkerChild) {
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker.exited;
}
