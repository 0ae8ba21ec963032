import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { startWorkerMetricsServer } from '../metrics/server';
import { startWebhookDispatcher } from '../webhooks/dispatcher';
import { startOperatorBalanceCheck } from './operator-balance';

/**
 * Everything operational a worker process runs beside the mint loop, started with one call:
 * the webhook dispatcher (when WEBHOOK_URL is set), the operator balance check (every minute)
 * and the metrics endpoint (when WORKER_METRICS_PORT is set). Each is its own async loop, so
 * none of them can hold up a batch. `stop()` ends them all.
 */
export async function startWorkerServices(options: { balanceCheckMs?: number } = {}) {
  const controller = new AbortController();
  const { signal } = controller;
  const dispatcher = startWebhookDispatcher({ signal });
  const balance = startOperatorBalanceCheck({ signal, intervalMs: options.balanceCheckMs });
  const port = getConfig().worker.metricsPort;
  let server: Server | undefined;
  if (port) {
    server = await startWorkerMetricsServer(port).catch((error: unknown) => {
      // A busy port must not stop the minting: log it and run without the endpoint.
      getLogger().error(
        { port, err: error instanceof Error ? error.message : String(error) },
        'worker metrics server failed to start',
      );
      return undefined;
    });
  }
  return {
    async stop() {
      controller.abort();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      // A check stuck on a dead RPC node must not hold up the drain: give them 2 s.
      await Promise.race([Promise.allSettled([dispatcher.done, balance.done]), sleep(2_000)]);
    },
  };
}
