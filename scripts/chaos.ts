// `npm run chaos [-- --quick] [--seconds n] [--seed n]`: a bounded soak of the mint pipeline
// against its own stack (embedded Postgres, anvil behind a cuttable RPC proxy, 3 worker
// processes, paced batches, and the web app: `next start` of the production build, built first
// when stale). Users fund tasks over time through the web app's fund route while workers are
// killed, stalled past their lease, cut off from the chain, and the database restarts under
// every process; when every task has ended the funds audit runs. Exit 1 unless every task was
// funded and completed, the mints on chain are exactly those paid for, no process crashed, there
// are no double or lost mints and no discrepancies, and each kind of fault happened at least
// once. Default ≤ 5 min, --quick ≤ 90 s (after the build).
//
// To see it fail, break something it checks, e.g. minting:
// `AGENT_MAX_TOPUP_PER_TASK_ETH=0 npm run chaos -- --quick` (no agent gets gas: every task fails).
import { parseArgs } from 'node:util';
import { figuresOf, failuresOf, printFigures, type TaskOutcome } from './chaos/report';
import { startChaosStack } from './chaos/stack';
import type { FaultKind } from './chaos/faults';
import { WebProcess } from './chaos/web';
import { WorkerPool } from './chaos/workers';

const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, seconds: { type: 'string' }, seed: { type: 'string' } },
});
const quick = values.quick ?? false;
const seed = Number(values.seed ?? Date.now() % 100_000);
/** Seconds of traffic and faults; then the run drains and audits. */
const loadSeconds = Number(values.seconds ?? (quick ? 30 : 150));
// Short, so a worker SIGSTOPped past its lease loses it within the run and another worker takes
// its task; the default 15 s would stretch every fault and the run with it.
const LEASE_MS = 3_000;

/** mulberry32: a seeded PRNG, so a run's choices can be replayed with --seed. */
function prng(a: number) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every kind once at fixed points of the load (so a short run still has all four), then random extras. */
function schedule(random: () => number): { atMs: number; kind: FaultKind }[] {
  const ms = loadSeconds * 1000;
  const plan: { atMs: number; kind: FaultKind }[] = [
    { atMs: 0.1 * ms, kind: 'kill' },
    { atMs: 0.25 * ms, kind: 'stall' },
    { atMs: 0.45 * ms, kind: 'outage' },
    { atMs: 0.75 * ms, kind: 'postgres' },
  ];
  const kinds: FaultKind[] = ['kill', 'stall', 'outage', 'postgres', 'kill'];
  if (!quick)
    for (let at = 0.15 * ms; at < 0.9 * ms; at += 15_000 + random() * 15_000)
      plan.push({ atMs: at, kind: kinds[Math.floor(random() * kinds.length)]! });
  return plan.sort((a, b) => a.atMs - b.atMs);
}

// Anything this process cannot handle ends the run as a failure, after stopping what it started.
let stopAll: (() => Promise<void>) | undefined;
process.on('uncaughtException', (error) => {
  console.error('chaos: uncaught', error);
  void (stopAll?.() ?? Promise.resolve()).finally(() => process.exit(1));
});

async function main() {
  const started = Date.now();
  const random = prng(seed);
  console.log(`chaos: ${quick ? 'quick' : 'default'} run, ${loadSeconds} s of load, seed ${seed}`);
  const stack = await startChaosStack({
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '300',
    LEASE_MS: String(LEASE_MS),
    CHECK_INTERVAL_MS: '500',
    WORKER_CONCURRENCY: '4',
    RECEIPT_TIMEOUT_MS: '20000',
  });
  const pool = new WorkerPool({ ...stack.workerEnv, LOG_LEVEL: 'info' }, 3, stack.dir);
  // Users reach it through a reverse proxy of their own address each (traffic.ts).
  const web = new WebProcess({ ...stack.env, TRUSTED_PROXY_HOPS: '1', LOG_LEVEL: 'info' }, stack.dir);
  stopAll = async () => {
    await Promise.allSettled([pool.stopAll(2_000), web.stop()]);
    await stack.stop(true);
  };
  let failed = true;
  try {
    // lib modules read the configuration once: imported only now that the stack's env is set.
    const [{ Traffic }, { Faults }, { runAudit }, { getSql }] = await Promise.all([
      import('./chaos/traffic'),
      import('./chaos/faults'),
      import('@/lib/audit/run-audit'),
      import('@/db/client'),
    ]);
    pool.startAll();
    await web.start();
    console.log(`chaos: stack and web up in ${((Date.now() - started) / 1000).toFixed(1)} s; 3 workers starting`);
    await pool.ready(30_000);
    const traffic = new Traffic(
      stack.deployment.tokens.map((t) => t.address),
      random,
      () => web.url,
    );
    traffic.run(quick ? 2_000 : 2_500, { min: 2, max: quick ? 6 : 15 });
    const faults = new Faults(stack, pool, random, LEASE_MS);
    const loadStart = Date.now();
    console.log(`chaos: workers ready at ${((loadStart - started) / 1000).toFixed(1)} s; load starts`);
    for (const { atMs, kind } of schedule(random)) {
      const wait = loadStart + atMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await faults.inject(kind);
    }
    const left = loadStart + loadSeconds * 1000 - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    await traffic.stop();

    // Drain: every funded task must end.
    const ids = traffic.taskIds;
    const deadline = Date.now() + (quick ? 30_000 : 60_000);
    let outcomes: TaskOutcome[] = [];
    for (;;) {
      outcomes = ids.length
        ? await getSql()<TaskOutcome[]>`
            select id, status, quantity, error_message as "errorMessage", funding_tx_hash as "fundingTxHash"
            from ai_agent_tasks where id in ${getSql()(ids)}`
        : [];
      if (!outcomes.some((t) => t.status === 'funded' || t.status === 'processing')) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(`chaos: load ended, tasks drained at ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await Promise.all([pool.stopAll(), web.stop()]);
    const audit = await runAudit();
    const figures = figuresOf(audit, faults.counts, outcomes, {
      workerCrashes: pool.crashes,
      webCrashes: web.crashes,
      trafficFailures: traffic.failures,
    });
    console.log(
      `\nchaos: done in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${seed}; audit of blocks ${audit.fromBlock}–${audit.toBlock})`,
    );
    printFigures(figures);
    console.log(
      `  (the web process took ${traffic.fundCalls.made} fund calls; ${traffic.fundCalls.failed} failed during faults and were posted again)`,
    );
    for (const line of [...pool.crashLog, ...web.crashLog]) console.log(`  ${line}`);
    for (const line of traffic.failures.slice(0, 5)) console.log(`  not funded: ${line}`);
    if (faults.shortStalls) console.log(`  (${faults.shortStalls} stall(s) ended before the lease ran out)`);
    for (const d of audit.discrepancies.slice(0, 20))
      console.log(`  discrepancy ${d.kind} task ${d.taskId ?? '-'} tx ${d.txHash ?? '-'}: ${d.message}`);
    const failures = failuresOf(figures);
    if (failures.length) {
      for (let i = 0; i < pool.size; i++) console.log(`\nworker ${i} last lines:\n${pool.tail(i, 8).join('\n')}`);
      console.log(`\nFAILED: ${failures.join('; ')}\n(worker and web logs kept in ${stack.dir})`);
      return 1;
    }
    failed = false;
    console.log(
      `\nOK: ${figures.completed} of ${figures.tasks} tasks funded and completed, ${figures.mintsOnChain} mints on chain for ${figures.mintsPaid} paid for; no crash, no double or lost mint, every unit of USDC accounted for`,
    );
    return 0;
  } finally {
    await Promise.allSettled([pool.stopAll(2_000), web.stop()]);
    await stack.stop(failed);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error('chaos: run failed:', error);
    process.exit(1);
  },
);
