import type { Deployment } from '@/lib/chain/deployment';
import type { Anvil } from '../local/anvil';
import { startTempStack } from '../local/temp-stack';
import { startRpcProxy, type RpcProxy } from './rpc-proxy';

/**
 * The chaos run's own stack, nothing shared with a developer's (scripts/local/temp-stack.ts, as
 * the tests' stack). Workers reach the chain through `proxy` (so it can be cut) and the database
 * directly (so it can be restarted); the web process (web.ts) and this one talk to anvil
 * directly, as a web tier on another host would.
 */
export type ChaosStack = {
  dir: string;
  anvil: Anvil;
  proxy: RpcProxy;
  deployment: Deployment;
  /** This process's env (also applied to process.env); workers get it with RPC_URL = the proxy. */
  env: Record<string, string>;
  workerEnv: Record<string, string>;
  restartPostgres(downMs: number): Promise<void>;
  /** Stops everything; the temp dir (worker logs, database) is kept when `keep` is set. */
  stop(keep?: boolean): Promise<void>;
};

export async function startChaosStack(workerSettings: Record<string, string>): Promise<ChaosStack> {
  const stack = await startTempStack({
    prefix: 'agentmint-chaos-',
    env: { PAYMENT_TIMEOUT: '600', ...workerSettings },
  });
  const anvil = stack.anvil!;
  const proxy = await startRpcProxy(anvil.port);
  return {
    dir: stack.dir,
    anvil,
    proxy,
    deployment: stack.deployment,
    env: stack.env,
    workerEnv: { ...stack.env, RPC_URL: proxy.url },
    restartPostgres: (downMs) => stack.restartPostgres(downMs),
    async stop(keep = false) {
      await proxy.close();
      await stack.stop(keep);
    },
  };
}
