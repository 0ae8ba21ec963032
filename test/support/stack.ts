import '@/lib/config'; // provides db/ its settings (db/settings.ts), read from the env set below
import type { Deployment } from '@/lib/chain/deployment';
import type { KeyFile } from '@/lib/key-file';
import type { Anvil } from '@/scripts/local/anvil';
import type { LocalPostgres } from '@/scripts/local/postgres';
import { startTempStack } from '@/scripts/local/temp-stack';

export type TestStack = {
  dir: string;
  pg: LocalPostgres;
  anvil: Anvil;
  deployment: Deployment;
  keys: KeyFile;
  keyFile: string;
  operator: `0x${string}`;
  /** The environment a process of this stack runs with (also applied to this process). */
  env: Record<string, string>;
  stop(): Promise<void>;
};

/** Set by a batched re-run of a suite (test/worker/batched-suites.ts) before it imports that suite. */
export function mintExecutionUnderTest(): 'single' | 'batch' {
  return (globalThis as { mintExecutionUnderTest?: 'single' | 'batch' }).mintExecutionUnderTest ?? 'single';
}

export type TestStackOptions = {
  /** Extra env (e.g. MINT_INTERVAL_MS) for this process and any child it starts. */
  env?: Record<string, string>;
  blockTime?: number;
  /** Give anvil a state file (`<dir>/anvil-state.json`) so it can be stopped and restarted. */
  anvilState?: boolean;
  /** Skip the chain (schema-only tests). */
  chain?: boolean;
};

/**
 * A private stack for one test file: real Postgres and real anvil on free ports in a fresh
 * temp dir, contracts deployed, migrations applied, a key file (scripts/local/temp-stack.ts).
 * Sets process.env before any lib module reads config, so call it in beforeAll before
 * importing modules that connect.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const stack = await startTempStack({
    prefix: 'agentmint-test-',
    blockTime: options.blockTime,
    anvilState: options.anvilState,
    chain: options.chain,
    env: {
      MINT_INTERVAL_MS: '0',
      // The one-transaction-per-mint path unless a test asks for EIP-7702 batches (MINT_EXECUTION=batch
      // in its env, or a whole suite re-run batched: test/worker/batched-suites.ts).
      MINT_EXECUTION: mintExecutionUnderTest(),
      // The origin route tests call (test/support/routes.ts BASE); SIWE and Origin checks use it.
      PUBLIC_URL: 'http://localhost:3000',
      ...options.env,
    },
  });
  const { dir, pg, deployment, keys, keyFile, operator, env } = stack;
  return { dir, pg, anvil: stack.anvil as Anvil, deployment, keys, keyFile, operator, env, stop: () => stack.stop() };
}
