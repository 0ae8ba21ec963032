import { closeDb } from '@/db/client';
import { getConfig } from '@/lib/config';
import { serviceLogger } from '@/lib/log';
import { resolveMintExecution } from '@/lib/chain/batch-support';
import { exitOnUnusableUsdc } from '@/lib/startup-check';
import { startWorkerServices } from '@/lib/ops/worker-services';
import { upgradeLegacyEnvelopes } from '@/lib/wallets/key-rotation';
import { MintWorker } from './loop';

// The worker process: `npm run worker` (or `node --import tsx worker/index.ts`). Any number may
// run against one database. First SIGINT/SIGTERM drains (batches in flight finish collecting
// receipts, leases are released, exit 0); a second one exits at once.

const log = serviceLogger('worker');

async function main() {
  getConfig();
  await exitOnUnusableUsdc(log);
  // Agent keys sealed before the owner was bound (v1) are re-sealed once, before any is used.
  const upgrade = await upgradeLegacyEnvelopes();
  if (upgrade.upgraded) log.info(upgrade, 'agent keys upgraded to owner-bound envelopes (v2)');
  if (upgrade.unreadable) log.error(upgrade, 'agent keys that no key in the key file opens; those wallets cannot sign');
  const worker = new MintWorker();
  // Webhook dispatcher, operator balance check, metrics endpoint: beside the loop, never in it.
  const services = await startWorkerServices();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    log.info({ signal }, 'draining');
    void worker
      .stop()
      .then(() => services.stop())
      .then(() => closeDb())
      .then(
        () => process.exit(0),
        (error) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await worker.start();
  // Decided once per process (MINT_EXECUTION=auto detects EIP-7702 support); a node that is down now is asked again by the first task.
  resolveMintExecution().then(
    (execution) =>
      log.info(
        { mintExecution: execution },
        `contract mints: ${execution.effective === 'batch' ? 'one EIP-7702 transaction per batch' : 'one transaction per mint'} (${execution.reason})`,
      ),
    (error: unknown) => log.error({ err: error }, 'mint execution not decided'),
  );
}

main().catch((error) => {
  log.fatal({ err: error }, 'worker failed to start');
  process.exit(1);
});
