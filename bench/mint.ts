// `npm run bench:mint`: the mint executor against the seed's loop and the chain's raw limit, on
// a private Postgres + anvil (the test stack), every figure measured in this one run.
//   1. 200 mints, MINT_INTERVAL_MS=0: executor vs (a) seed loop vs (b) raw pre-signed sends
//   2. 20 tasks of 20 users at once vs one task: aggregate mints/s
//   3. anvil mining a block every 2 s (Base-like), default pacing (batch 10, 5 s apart), 100 mints,
//      through the real worker process; the seed loop's time is computed from a measured sample.
import os from 'node:os';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { type Address } from 'viem';
import { getSql } from '@/db/client';
import { getTaskById, transitionTask, wakeWorkers } from '@/db/tasks';
import { createPendingTask } from '@/test/support/fixtures';
import { authorizationFor, signAuthorization } from '@/test/support/funding';
import { getConfig } from '@/lib/config';
import { unpacedMintEnv } from './mint-env';
import { startTestStack } from '@/test/support/stack';
import { killWorker, spawnWorker } from '@/test/support/worker';
import { cpuNow, cpuSince, type Cpu } from './cpu';
import {
  anvilRpc,
  fromSameChain,
  fundedTask,
  median,
  prepareAgent,
  runRawLimit,
  runSeedLoop,
  sendUsdc,
} from './mint-baselines';

// `--ab=<git ref>`: that commit's worker against this tree's, side by side (mint-ab.ts, which starts its own stack).
if (process.argv.some((a) => a.startsWith('--ab='))) {
  await import('./mint-ab');
  process.exit(0);
}
// `--profile`: what the worker does for one task, counted (mint-profile.ts, which starts its own stack).
if (process.argv.includes('--profile')) {
  await import('./mint-profile');
  process.exit(0);
}

const N = 200;
/** `--quick`: only the 200-mint comparison (for iterating on the executor). */
const quick = process.argv.includes('--quick');
const stack = await startTestStack({ env: unpacedMintEnv() });
const { MintWorker } = await import('@/worker/loop');
const { fundTask } = await import('@/lib/tasks/fund-task');
const token = stack.deployment.tokens[0]!.address;
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const line = (label: string, value: string) => console.log(`  ${label.padEnd(50)} ${value}`);

const worker = new MintWorker();
const waiters = new Map<string, () => void>();
const ended = new Set<string>();
worker.onTaskDone = (task, outcome) => {
  if (outcome !== 'completed')
    void getTaskById({ id: task.id }).then((t) =>
      console.error(`task ${task.id} ended ${outcome}: ${t?.errorMessage ?? ''}`),
    );
  ended.add(task.id);
  waiters.get(task.id)?.();
};
const finished = (ids: string[]) =>
  Promise.all(ids.map((id) => (ended.has(id) ? undefined : new Promise<void>((r) => waiters.set(id, r)))));
await worker.start();

/** Funded tasks, then one NOTIFY each; time from the wake-up to the last completion (no poll runs: CHECK_INTERVAL_MS is 10 min here). */
async function runExecutor(quantities: number[], { cpuInto, gasInto }: { cpuInto?: Cpu[]; gasInto?: number[] } = {}) {
  const tasks = [];
  for (const q of quantities) tasks.push(await fundedTask(newUser(), token, q));
  const done = finished(tasks.map((t) => t.id));
  const cpu = cpuNow();
  const started = performance.now();
  for (const t of tasks) await wakeWorkers(t.id);
  await done;
  const ms = performance.now() - started;
  cpuInto?.push(cpuSince(cpu));
  if (gasInto) gasInto.push(await gasPerMint(tasks.map((t) => t.id)));
  return ms;
}

/**
 * Gas per confirmed mint from the ledger: a single mint's own transaction; a batch's gas shared
 * by its mints, the approval it carries included (the single path's separate approval is not
 * counted, so the comparison is conservative for batches).
 */
async function gasPerMint(taskIds: string[]) {
  const [row] = await getSql()<{ gas: string; n: number }[]>`
    select coalesce(sum(gas_used), 0)::text as gas, count(*)::int as n from ai_agent_mint_records where task_id in ${getSql()(taskIds)} and status = 'confirmed'`;
  return Number(row!.gas) / row!.n;
}

/** What the user waits for: from sending the USDC to the agent to `completed` (the fund route's own checks aside). */
async function userWaits(quantity: number) {
  const task = await createPendingTask({ userAddress: newUser(), token, quantity });
  const started = performance.now();
  await sendUsdc(task.agentAddress as Address, BigInt(task.totalCost));
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded', set: { fundedAt: new Date() } });
  const done = finished([task.id]);
  await wakeWorkers(task.id);
  await done;
  return performance.now() - started;
}

/** The moments of a fund call's way to `completed`, ms after the call (fundToCompleted). */
type FundSplit = {
  submitted: number;
  funded: number;
  returned: number;
  claimed: number;
  firstWritten: number;
  firstSettled: number;
  completed: number;
  topUps: number;
};

/**
 * What the user waits, as the fund route has it: fundTask (its one lib call) with the owner's
 * signed authorization, to `completed`, and where the time goes, from the task's and the
 * ledger's own timestamps (one host, one clock): transfer sent, funded (its receipt), the call
 * returns (and wakes the workers), claimed, the first batch written and settled, completed.
 */
async function fundToCompleted(quantity: number): Promise<FundSplit> {
  const owner = privateKeyToAccount(generatePrivateKey());
  const task = await createPendingTask({ userAddress: owner.address, token, quantity });
  await sendUsdc(owner.address, BigInt(task.totalCost));
  const a = authorizationFor(task);
  const signature = await signAuthorization(owner, a);
  const authorization = {
    ...a,
    value: BigInt(a.value),
    validAfter: BigInt(a.validAfter),
    validBefore: BigInt(a.validBefore),
  };
  const done = finished([task.id]);
  const called = Date.now();
  await fundTask({ taskId: task.id, authorization, signature });
  const returned = Date.now();
  await done;
  const ms = (column: string) => getSql().unsafe(`extract(epoch from ${column}) * 1000`);
  const [row] = await getSql()<Record<Exclude<keyof FundSplit, 'returned'>, number>[]>`
    select ${ms('funding_submitted_at')} as submitted, ${ms('funded_at')} as funded, ${ms('started_at')} as claimed,
      ${ms('completed_at')} as completed,
      (select ${ms('min(created_at)')} from ai_agent_mint_records where task_id = t.id) as "firstWritten",
      (select ${ms('min(confirmed_at)')} from ai_agent_mint_records where task_id = t.id) as "firstSettled",
      (select count(*)::int from agent_gas_topups where task_id = t.id) as "topUps"
    from ai_agent_tasks t where id = ${task.id}`;
  const at = (t: number) => Number(t) - called;
  return {
    submitted: at(row!.submitted),
    funded: at(row!.funded),
    returned: returned - called,
    claimed: at(row!.claimed),
    firstWritten: at(row!.firstWritten),
    firstSettled: at(row!.firstSettled),
    completed: at(row!.completed),
    topUps: row!.topUps,
  };
}

/** Runs funded tasks through a real worker process; seconds from the first claim to the last completion. */
async function runWorkerChild(taskIds: string | string[], env: Record<string, string>) {
  const ids = typeof taskIds === 'string' ? [taskIds] : taskIds;
  const child = spawnWorker({ ...stack.env, ...env, LOG_LEVEL: 'silent' });
  const deadline = Date.now() + 300_000;
  let row: { open: number; completed: number; secs: number | null } | undefined;
  while (Date.now() < deadline) {
    [row] = await getSql()<{ open: number; completed: number; secs: number | null }[]>`
      select count(*) filter (where status in ('funded', 'processing'))::int as open, count(*) filter (where status = 'completed')::int as completed,
        extract(epoch from max(completed_at) - min(started_at))::float8 as secs
      from ai_agent_tasks where id in ${getSql()(ids)}`;
    if (row && row.open === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await killWorker(child);
  if (row?.completed !== ids.length || row.secs === null)
    throw new Error(`tasks ${ids.join(', ')}: ${row?.completed ?? 0} of ${ids.length} completed`);
  return row.secs;
}

/** The 200-mint comparison (every row against (a) and (b)), then, without --quick, the many-users and Base-like runs. */
async function runComparison() {
  // Each figure is the best of ROUNDS runs, interleaved so a slow moment of the machine hits all
  // alike. Best, not median: this machine's later rounds of the seed loop run slower, which
  // would flatter the executor.
  const ROUNDS = 3;
  const runs = {
    executor: [] as number[],
    executor50: [] as number[],
    executor200: [] as number[],
    sequential: [] as number[],
    seed: [] as number[],
    raw: [] as number[],
    rawSign: [] as number[],
    batch10: [] as number[],
    batch50: [] as number[],
    batch200: [] as number[],
  };
  const gas = { executor: [] as number[], batch10: [] as number[], batch50: [] as number[], batch200: [] as number[] };
  const withConfig = async <T>(patch: Partial<ReturnType<typeof getConfig>['worker']>, f: () => Promise<T>) => {
    // The config object is per process, and the bench owns this one.
    const saved = { ...getConfig().worker };
    Object.assign(getConfig().worker, patch);
    try {
      return await f();
    } finally {
      Object.assign(getConfig().worker, saved);
    }
  };
  const cpu = {
    executor: [] as Cpu[],
    executor50: [] as Cpu[],
    executor200: [] as Cpu[],
    sequential: [] as Cpu[],
    raw: [] as Cpu[],
    batch10: [] as Cpu[],
    batch50: [] as Cpu[],
    batch200: [] as Cpu[],
  };
  // The batched rows: MINT_EXECUTION=batch (one EIP-7702 transaction per batch, batches one at a time).
  const batched = (batchSize: number, into: { cpu: Cpu[]; gas: number[] }) =>
    fromSameChain(() =>
      withConfig({ execution: 'batch', batchSize }, () => runExecutor([N], { cpuInto: into.cpu, gasInto: into.gas })),
    );
  for (let round = 0; round < ROUNDS; round++) {
    runs.executor.push(await fromSameChain(() => runExecutor([N], { cpuInto: cpu.executor, gasInto: gas.executor })));
    runs.batch10.push(await batched(10, { cpu: cpu.batch10, gas: gas.batch10 }));
    runs.seed.push(
      await fromSameChain(async () =>
        (await runSeedLoop(await prepareAgent(newUser(), token, N), N)).reduce((a, b) => a + b, 0),
      ),
    );
    const raw = await fromSameChain(async () => runRawLimit(await prepareAgent(newUser(), token, N), N));
    runs.raw.push(raw.ms);
    runs.rawSign.push(raw.signMs);
    cpu.raw.push(raw.cpu);
    runs.executor50.push(
      await fromSameChain(() => withConfig({ batchSize: 50 }, () => runExecutor([N], { cpuInto: cpu.executor50 }))),
    );
    runs.executor200.push(
      await fromSameChain(() => withConfig({ batchSize: N }, () => runExecutor([N], { cpuInto: cpu.executor200 }))),
    );
    runs.sequential.push(
      await fromSameChain(() => withConfig({ pipelineDepth: 1 }, () => runExecutor([N], { cpuInto: cpu.sequential }))),
    );
    runs.batch50.push(await batched(50, { cpu: cpu.batch50, gas: gas.batch50 }));
    runs.batch200.push(await batched(N, { cpu: cpu.batch200, gas: gas.batch200 }));
  }
  // Best of the rounds for the headline figures; the medians beside them show how much a typical run differs.
  const best = (xs: number[]) => Math.min(...xs);
  const raw = { ms: best(runs.raw), signMs: best(runs.rawSign) };
  const rate = (ms: number) => `${s(ms)}  (${((N * 1000) / ms).toFixed(0)} mints/s)`;
  const versus = (ms: number) =>
    `${(best(runs.seed) / ms).toFixed(1)}× (a), ${((raw.ms / ms) * 100).toFixed(0)}% of (b), ${(((raw.ms + raw.signMs) / ms) * 100).toFixed(0)}% of (b')`;
  const medians = (xs: number[]) =>
    `[medians: ${s(median(xs))}, ${(median(runs.seed) / median(xs)).toFixed(1)}× (a), ${((median(runs.raw) / median(xs)) * 100).toFixed(0)}% of (b)]`;
  const row = (label: string, xs: number[]) => line(label, `${rate(best(xs))}  ${versus(best(xs))}  ${medians(xs)}`);
  row(`executor, one ${N}-mint task (incl. top-up + approve)`, runs.executor);
  row(`  same, MINT_BATCH_SIZE=50`, runs.executor50);
  row(`  same, MINT_BATCH_SIZE=${N} (the task in one batch)`, runs.executor200);
  row(`  same, one batch at a time (PIPELINE_DEPTH=1)`, runs.sequential);
  line(`(a) seed loop: send, wait receipt, next`, `${rate(best(runs.seed))}  [median ${s(median(runs.seed))}]`);
  line(`(b) raw limit: ${N} pre-signed, sent at once`, `${rate(raw.ms)}  [median ${s(median(runs.raw))}]`);
  line(
    `(b') raw limit incl. signing them (2 sigs/mint)`,
    `${rate(raw.ms + raw.signMs)}  [signing alone ${s(raw.signMs)}]`,
  );
  row(`batched (EIP-7702), batch 10, incl. delegation`, runs.batch10);
  row(`  batched, batch 50`, runs.batch50);
  row(`  batched, batch ${N}`, runs.batch200);
  line(`targets`, `single: ≥ 10× (a), ≥ 60% of (b); batch 10: ≥ 20× (a), ≥ 100% of (b)`);
  const gasRow = (label: string, xs: number[]) =>
    line(
      label,
      `${median(xs).toFixed(0)} gas/mint  (${((median(xs) / median(gas.executor)) * 100).toFixed(0)}% of single)`,
    );
  console.log('');
  gasRow(`gas per mint, single transactions (batch 10)`, gas.executor);
  gasRow(`  batched, batch 10 (approval included)`, gas.batch10);
  gasRow(`  batched, batch 50`, gas.batch50);
  gasRow(`  batched, batch ${N}`, gas.batch200);
  line(`target`, `batch 10 ≤ 65% of single`);

  // Why the executor cannot go much faster on this machine: worker, anvil and Postgres share its
  // cores, so a run can take no less than the CPU it uses divided by the cores (its floor), and
  // the 60% target allows (b) / 0.6 in all.
  const cores = os.cpus().length;
  const midCpu = (samples: Cpu[]) => ({
    worker: median(samples.map((c) => c.worker)),
    anvil: median(samples.map((c) => c.anvil)),
    postgres: median(samples.map((c) => c.postgres)),
  });
  const cpuRow = (label: string, samples: Cpu[]) => {
    const c = midCpu(samples);
    const total = c.worker + c.anvil + c.postgres;
    const perMint = (ms: number) => `${((ms * 1000) / N).toFixed(0)}`;
    line(
      label,
      `${total.toFixed(0)} ms = worker ${c.worker.toFixed(0)} + anvil ${c.anvil.toFixed(0)} + Postgres ${c.postgres.toFixed(0)}  →  floor ${s(total / cores)};  per mint ${perMint(total)} µs = ${perMint(c.worker)} + ${perMint(c.anvil)} + ${perMint(c.postgres)}`,
    );
  };
  console.log(
    `\n  CPU per run (medians) and the floor it sets on ${cores} cores; the 60% target allows ${s(raw.ms / 0.6)}\n`,
  );
  cpuRow(`executor, batch 10 (default)`, cpu.executor);
  cpuRow(`  batch 50`, cpu.executor50);
  cpuRow(`  batch ${N}`, cpu.executor200);
  cpuRow(`  depth 1`, cpu.sequential);
  cpuRow(`batched, batch 10`, cpu.batch10);
  cpuRow(`  batched, batch 50`, cpu.batch50);
  cpuRow(`  batched, batch ${N}`, cpu.batch200);
  cpuRow(`(b) raw limit, sending and receipts only`, cpu.raw);

  // The user's wait through the fund route's own call, split where it goes (medians of the rounds).
  const splits: FundSplit[] = [];
  for (let round = 0; round < ROUNDS; round++)
    splits.push(await fromSameChain(() => withConfig({ execution: 'batch' }, () => fundToCompleted(N))));
  const at = (k: keyof FundSplit) => median(splits.map((x) => x[k]));
  const phase = (label: string, from: keyof FundSplit | undefined, to: keyof FundSplit) =>
    line(`  ${label}`, `${(at(to) - (from ? at(from) : 0)).toFixed(0).padStart(4)} ms   (at ${at(to).toFixed(0)} ms)`);
  console.log(
    `\n  What the user waits: fund call → completed, ${N} mints batched (EIP-7702), batch 10, medians of ${ROUNDS}`,
  );
  phase('fund call → transfer sent (checks, gas estimate, early top-up reserved)', undefined, 'submitted');
  phase('→ funded (transfer mined, settled under the lock)', 'submitted', 'funded');
  phase('→ fund call returns (workers woken)', 'funded', 'returned');
  phase('→ claimed by the worker', 'returned', 'claimed');
  phase('→ first batch written (runtime, reads, top-up, gas estimate, sign)', 'claimed', 'firstWritten');
  phase('→ first batch settled', 'firstWritten', 'firstSettled');
  phase('→ completed', 'firstSettled', 'completed');
  line(
    '  fund call → completed',
    `${s(at('completed'))}  (${((N * 1000) / at('completed')).toFixed(0)} mints/s, ${((raw.ms / at('completed')) * 100).toFixed(0)}% of (b)); gas top-ups per task ${at('topUps')}`,
  );

  if (!quick) {
    const single = await runExecutor([20]);
    const many = await runExecutor(Array.from({ length: 20 }, () => 20));
    console.log('');
    line('one 20-mint task', `${s(single)}  (${((20 * 1000) / single).toFixed(0)} mints/s)`);
    line(
      '20 tasks × 20 mints, 20 users at once',
      `${s(many)}  (${((400 * 1000) / many).toFixed(0)} mints/s aggregate)`,
    );
    line('aggregate vs one task', `${(400 / many / (20 / single)).toFixed(1)}×`);
    const waitsSingle = await userWaits(20);
    const waitsBatch = await withConfig({ execution: 'batch' }, () => userWaits(20));
    line('user waits, USDC sent → completed, 20 mints, single', s(waitsSingle));
    line(
      'user waits, same, batched (EIP-7702)',
      `${s(waitsBatch)}  (${(waitsSingle / waitsBatch).toFixed(1)}× sooner)`,
    );

    // Base-like: a block every 2 s, through the real worker process: default pacing, then none.
    await worker.stop();
    const seedSample = await prepareAgent(newUser(), token, 4);
    const paced = await fundedTask(newUser(), token, 100);
    await anvilRpc('evm_setAutomine', [false]);
    await anvilRpc('evm_setIntervalMining', [2]);
    const sample = await runSeedLoop(seedSample, 4);
    const perMint = sample.reduce((a, b) => a + b, 0) / sample.length;
    const pacedSecs = await runWorkerChild(paced.id, { MINT_INTERVAL_MS: '5000', MINT_BATCH_SIZE: '10' });
    const unpaced = await fundedTask(newUser(), token, 100); // funded only now, so the first child never takes it
    const unpacedSecs = await runWorkerChild(unpaced.id, { MINT_INTERVAL_MS: '0', MINT_BATCH_SIZE: '10' });
    const seedPaced = (100 * (perMint + 5000)) / 1000;
    const seedUnpaced = (100 * perMint) / 1000;
    console.log(`\nBase-like chain (anvil mining every 2 s), 100 mints, real worker process, batch 10\n`);
    line('seed loop: one mint per block (measured over 4)', `${(perMint / 1000).toFixed(2)} s per mint`);
    line(
      'executor, MINT_INTERVAL_MS=5000 (default)',
      `${pacedSecs.toFixed(1)} s vs seed ${seedPaced.toFixed(0)} s (100 × (mint + 5 s sleep), computed): ${(seedPaced / pacedSecs).toFixed(1)}×`,
    );
    line(
      'executor, MINT_INTERVAL_MS=0',
      `${unpacedSecs.toFixed(1)} s vs seed ${seedUnpaced.toFixed(0)} s (100 × mint, computed): ${(seedUnpaced / unpacedSecs).toFixed(1)}×`,
    );

    // Many users at once, at default settings (pacing 5 s, batch 10), batched: 20 users' 20-mint
    // tasks against one such task, with the default WORKER_CONCURRENCY and with one that holds all 20.
    const defaults = { MINT_EXECUTION: 'batch', MINT_INTERVAL_MS: '5000', MINT_BATCH_SIZE: '10' };
    const one = await runWorkerChild((await fundedTask(newUser(), token, 20)).id, {
      ...defaults,
      WORKER_CONCURRENCY: '4',
    });
    // Funded one after another (one funder account, so one nonce at a time), before the worker starts.
    const twenty = async () => {
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push((await fundedTask(newUser(), token, 20)).id);
      return ids;
    };
    const at4 = await runWorkerChild(await twenty(), { ...defaults, WORKER_CONCURRENCY: '4' });
    const at32 = await runWorkerChild(await twenty(), { ...defaults, WORKER_CONCURRENCY: '32' });
    line('batched, one 20-mint task, defaults', `${one.toFixed(1)} s (first claim → completed)`);
    line(
      '  20 users × 20 mints at once, WORKER_CONCURRENCY=4',
      `${at4.toFixed(1)} s = ${(at4 / one).toFixed(1)}× one task`,
    );
    line(
      '  same, WORKER_CONCURRENCY=32',
      `${at32.toFixed(1)} s = ${(at32 / one).toFixed(1)}× one task  (target ≤ 1.5×)`,
    );
    console.log('');
  }
}

try {
  console.log(
    `\nAgentMint mint benchmark — anvil automine, Postgres, MINT_INTERVAL_MS=0, MINT_BATCH_SIZE=10, MINT_PIPELINE_DEPTH=${getConfig().worker.pipelineDepth}; best of 3 (medians in brackets)\n`,
  );
  // Warm-up (JIT, prepared statements, connection pools) so the first measured run is not penalised.
  await runExecutor([20]);
  await runSeedLoop(await prepareAgent(newUser(), token, 10), 10);
  await runComparison();
} finally {
  await worker.stop();
  await stack.stop();
}
process.exit(0);
