import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// One registry per process (web or worker), kept on globalThis so Next's dev reloads do not
// register every metric twice. Counters and histograms are fed by the code that does the work
// (the worker); gauges about shared state (queue, ledger, balances) are read at scrape time by
// lib/metrics/collect.ts, so every process reports the same database truth.

function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'agentmint_process_' });
  const registers = [registry];
  return {
    registry,
    mintsSent: new Counter({
      name: 'agentmint_mints_sent_total',
      help: 'Mint transactions broadcast by this process',
      registers,
    }),
    mintsConfirmed: new Counter({
      name: 'agentmint_mints_confirmed_total',
      help: 'Mint transactions confirmed successful',
      registers,
    }),
    mintsFailed: new Counter({
      name: 'agentmint_mints_failed_total',
      help: 'Mint transactions that reverted or were dropped',
      registers,
    }),
    batchDuration: new Histogram({
      name: 'agentmint_batch_duration_seconds',
      help: 'Time from sending a batch to its last receipt',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'agentmint_task_duration_seconds',
      help: 'Time from a task starting to its final status',
      labelNames: ['status'] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers,
    }),
    txInFlight: new Gauge({
      name: 'agentmint_transactions_in_flight',
      help: 'Transactions sent and not yet receipted',
      registers,
    }),
    gasSpentWei: new Counter({
      name: 'agentmint_gas_spent_wei_total',
      help: 'Gas paid by mints this process confirmed (wei)',
      registers,
    }),
    webhooksDelivered: new Counter({
      name: 'agentmint_webhooks_delivered_total',
      help: 'Webhook deliveries accepted',
      labelNames: ['event'] as const,
      registers,
    }),
    webhooksFailed: new Counter({
      name: 'agentmint_webhooks_failed_attempts_total',
      help: 'Webhook attempts that failed',
      labelNames: ['event'] as const,
      registers,
    }),
    operatorLowBalance: new Gauge({
      name: 'agentmint_operator_low_balance',
      help: '1 while the operator ETH balance is under OPERATOR_MIN_ETH',
      registers,
    }),
    scrapeErrors: new Counter({
      name: 'agentmint_scrape_errors_total',
      help: 'Scrape-time collections that failed',
      labelNames: ['source'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const holder = globalThis as unknown as { __agentMintMetrics?: Metrics };

export function getMetrics(): Metrics {
  holder.__agentMintMetrics ??= createMetrics();
  return holder.__agentMintMetrics;
}

/** Records the gas of one receipted transaction (bigint in, float counter out: Prometheus has no integers). */
export function recordGasSpent(gasUsed: bigint, effectiveGasPrice: bigint) {
  getMetrics().gasSpentWei.inc(Number(gasUsed * effectiveGasPrice));
}

/** Starts a batch timer; call the returned function when the batch's receipts are in. */
export const startBatchTimer = () => getMetrics().batchDuration.startTimer();

export function recordTaskFinished(task: { status: string; startedAt: Date | null; completedAt?: Date | null }) {
  if (!task.startedAt) return;
  const end = task.completedAt ?? new Date();
  getMetrics().taskDuration.observe(
    { status: task.status },
    Math.max(0, (end.getTime() - task.startedAt.getTime()) / 1000),
  );
}
