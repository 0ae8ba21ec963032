import { getSql } from '@/db/client';
import { resolveMintExecution } from '@/lib/chain/batch-support';
import { getPublicClient } from '@/lib/chain/clients';
import { json } from '@/lib/http';

export const dynamic = 'force-dynamic';

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)),
  ]);

async function probe<T>(fn: () => Promise<T>) {
  const started = performance.now();
  try {
    const value = await within(2000, fn());
    return { ok: true as const, latencyMs: Math.round(performance.now() - started), value };
  } catch (error) {
    return { ok: false as const, error: error instanceof Error ? error.message.split('\n')[0] : 'unreachable' };
  }
}

/** Liveness plus reachability of the database and the chain; 503 when either is down. */
export async function GET() {
  const [database, chain, execution] = await Promise.all([
    probe(() => getSql()`select 1`),
    probe(async () => {
      const client = getPublicClient();
      const [chainId, blockNumber] = await Promise.all([client.getChainId(), client.getBlockNumber()]);
      return { chainId, blockNumber: blockNumber.toString() };
    }),
    // How workers with this configuration send contract mints (detected once per process; informational, never degrades health).
    probe(() => resolveMintExecution()),
  ]);
  const ok = database.ok && chain.ok;
  return json(
    {
      status: ok ? 'ok' : 'degraded',
      database: database.ok ? { ok: true, latencyMs: database.latencyMs } : database,
      chain: chain.ok ? { ok: true, latencyMs: chain.latencyMs, ...chain.value } : chain,
      mintExecution: execution.ok ? execution.value : { error: execution.error },
    },
    { status: ok ? 200 : 503 },
  );
}
