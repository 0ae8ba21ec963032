import { Gauge } from 'prom-client';
import { formatEther, getAddress, type Address } from 'viem';
import { countMintRecordsByStatus, countTasksByStatus, listActiveAgentAddresses, sumGasSpentWei } from '@/db/stats';
import { getOperatorAccount, getPublicClient } from '../chain/clients';
import { getLogger } from '../log';
import { getMetrics, type Metrics } from './registry';

// Gauges read at scrape time. Balances cost one RPC call each, so at most MAX_AGENTS agent
// wallets (those with funded/processing tasks, busiest first) are read, and balances are
// cached for BALANCE_TTL_MS so a 5 s scrape interval does not hammer the node.
const MAX_AGENTS = 20;
const BALANCE_TTL_MS = 15_000;

type BalanceCache = { at: number; operator?: number; agents: Map<string, number> };
const cache: BalanceCache = { at: 0, agents: new Map() };
let inFlight: Promise<BalanceCache> | undefined;

/** Both balance gauges collect concurrently; they share one read. */
function readBalances(): Promise<BalanceCache> {
  if (Date.now() - cache.at < BALANCE_TTL_MS) return Promise.resolve(cache);
  inFlight ??= fetchBalances().finally(() => (inFlight = undefined));
  return inFlight;
}

async function fetchBalances(): Promise<BalanceCache> {
  const client = getPublicClient();
  const agents = await listActiveAgentAddresses({ limit: MAX_AGENTS });
  const operator = getOperatorAccount().address;
  const [op, ...agentBalances] = await Promise.all(
    [operator, ...agents].map((a) => client.getBalance({ address: a as Address })),
  );
  cache.operator = Number(formatEther(op!));
  cache.agents = new Map(agents.map((a, i) => [getAddress(a), Number(formatEther(agentBalances[i]!))]));
  cache.at = Date.now();
  return cache;
}

/** Forgets cached balances (tests, and the balance check after it read a fresh value). */
export function resetBalanceCache() {
  cache.at = 0;
}

function failed(metrics: Metrics, source: string, error: unknown) {
  metrics.scrapeErrors.inc({ source });
  getLogger().warn(
    { source, err: error instanceof Error ? error.message : String(error) },
    'metrics collection failed',
  );
}

function registerCollectors(metrics: Metrics) {
  const registers = [metrics.registry];
  new Gauge({
    name: 'agentmint_tasks',
    help: 'Tasks by status (queue depth: funded and processing)',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      try {
        const counts = await countTasksByStatus();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      } catch (error) {
        failed(metrics, 'tasks', error);
      }
    },
  });
  new Gauge({
    name: 'agentmint_ledger_mints',
    help: 'Mint ledger rows by status, all workers',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      try {
        const counts = await countMintRecordsByStatus();
        for (const status of ['signed', 'sent', 'confirmed', 'failed']) this.set({ status }, counts[status] ?? 0);
      } catch (error) {
        failed(metrics, 'ledger', error);
      }
    },
  });
  new Gauge({
    name: 'agentmint_ledger_gas_spent_wei',
    help: 'Gas paid by every receipted mint in the ledger, all workers (wei)',
    registers,
    async collect() {
      try {
        this.set(Number(await sumGasSpentWei()));
      } catch (error) {
        failed(metrics, 'gas', error);
      }
    },
  });
  new Gauge({
    name: 'agentmint_agent_balance_eth',
    help: `ETH balance of agent wallets with active tasks (at most ${MAX_AGENTS})`,
    labelNames: ['agent'] as const,
    registers,
    async collect() {
      try {
        const balances = await readBalances();
        this.reset();
        for (const [agent, eth] of balances.agents) this.set({ agent }, eth);
      } catch (error) {
        failed(metrics, 'agent_balances', error);
      }
    },
  });
  new Gauge({
    name: 'agentmint_operator_balance_eth',
    help: 'ETH balance of the operator wallet',
    registers,
    async collect() {
      try {
        const balances = await readBalances();
        if (balances.operator !== undefined) this.set(balances.operator);
      } catch (error) {
        failed(metrics, 'balances', error);
      }
    },
  });
}

const holder = globalThis as unknown as { __agentMintCollectors?: boolean };

/** The Prometheus text of this process's registry, scrape-time gauges included. */
export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  const metrics = getMetrics();
  if (!holder.__agentMintCollectors) {
    registerCollectors(metrics);
    holder.__agentMintCollectors = true;
  }
  return { body: await metrics.registry.metrics(), contentType: metrics.registry.contentType };
}
