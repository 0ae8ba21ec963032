import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { mnemonicToAccount } from 'viem/accounts';
import { waitFor } from './ports';

const require = createRequire(import.meta.url);

/** The anvil binary shipped in @foundry-rs/anvil's platform package (nothing downloaded). */
export function anvilBinary(): string {
  const platform = { darwin: 'darwin', linux: 'linux', win32: 'win32' }[process.platform as string];
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  const pkg = `@foundry-rs/anvil-${platform}-${arch}`;
  const dir = path.dirname(require.resolve(`${pkg}/package.json`));
  return path.join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

/** Anvil's well-known dev accounts (public keys; never use them on a real network). */
export const anvilAccount = (index: number) => mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index });

export type AnvilOptions = {
  port: number;
  /** Load from and dump to this file, so chain state survives a restart. */
  stateFile?: string;
  blockTime?: number;
  logFile?: string;
  chainId?: number;
};

export type Anvil = { url: string; port: number; process: ChildProcess; stop(): Promise<void> };

export async function startAnvil(options: AnvilOptions): Promise<Anvil> {
  const args = ['--port', String(options.port), '--host', '127.0.0.1', '--chain-id', String(options.chainId ?? 31337)];
  args.push('--mnemonic', ANVIL_MNEMONIC, '--accounts', '10', '--balance', '10000');
  if (options.stateFile) {
    mkdirSync(path.dirname(options.stateFile), { recursive: true });
    // Dump every 2 s as well as on exit, so even a hard kill loses at most two seconds.
    args.push('--state', options.stateFile, '--state-interval', '2');
  }
  if (options.blockTime) args.push('--block-time', String(options.blockTime));
  // Without a log file nobody reads anvil's log (a line per request, a block per transaction):
  // printing it cost anvil CPU and this process a pipe read per line, on a machine the node
  // shares with Postgres and the worker.
  if (!options.logFile) args.push('--silent');
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  const url = `http://127.0.0.1:${options.port}`;
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitFor(
    async () => {
      if (exited) throw new Error(`anvil exited early (port ${options.port} in use?)`);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      return res.ok;
    },
    { timeoutMs: 20_000, what: `anvil on port ${options.port}` },
  );
  return {
    url,
    port: options.port,
    process: child,
    stop: () => stopChild(child),
  };
}

/** SIGTERM (anvil dumps its state), then SIGKILL if it has not exited in 5 s. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
