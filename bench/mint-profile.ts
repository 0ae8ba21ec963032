// `npm run bench:mint -- --profile`: counts the work the worker does for one 200-mint batched task
// (batch 10, unpaced), to see where its CPU goes before tuning: the JSON-RPC calls by method and
// the HTTP requests that carry them, the SQL statements by kind, and the worker's CPU, per task
// and per batch; with `--cpu-prof=<file>` a V8 CPU profile of the measured tasks only (open it in
// Chrome's DevTools). The worker runs in this process (as `bench:mint` runs it), so the profile
// holds nothing but the task's own work and this script's idle wait.
//   --warmup=N (4, as --ab)  --rounds=N (5)  --quantity=N (200)  --batch=N (10)  --execution=batch|single (batch)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { Pool } from 'undici';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { unpacedMintEnv } from './mint-env';
import { startTestStack } from '@/test/support/stack';
import { fromSameChain, fundedTask, median } from './mint-baselines';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const ROUNDS = Number(arg('rounds') ?? 5);
const WARMUP = Number(arg('warmup') ?? 4);
const N = Number(arg('quantity') ?? 200);
const BATCH = Number(arg('batch') ?? 10);
const PROFILE = arg('cpu-prof');
/** `--heap-prof=<file>`: V8's sampling heap profile of the last round (what allocates: GC is a good part of the worker's CPU). */
const HEAP_PROFILE = arg('heap-prof');
/** `--trace`: print every statement and JSON-RPC call of the last round, in order, with ms since the wake-up. */
const TRACE = process.argv.includes('--trace');

const stack = await startTestStack({
  env: unpacedMintEnv({ MINT_EXECUTION: arg('execution') ?? 'batch', MINT_BATCH_SIZE: String(BATCH) }),
});

// Counting: every statement postgres.js sends (its debug hook, on the process's one pool, set up
// here before anything connects) and every HTTP request of the worker's RPC pool (undici's Pool).
let counting = false;
const statements = new Map<string, number>();
const rpcCalls = new Map<string, number>();
let httpRequests = 0;
let tracing: string[] | undefined;
let traceStart = 0;
const count = (map: Map<string, number>, key: string) => {
  if (!counting) return;
  map.set(key, (map.get(key) ?? 0) + 1);
  tracing?.push(
    `${(performance.now() - traceStart).toFixed(1).padStart(7)}  ${map === statements ? 'SQL' : 'RPC'}  ${key}`,
  );
};
{
  const { databaseSettings } = await import('@/db/settings');
  const schema = await import('@/db/schema');
  const { url, poolMax } = databaseSettings();
  const sql = postgres(url!, {
    max: poolMax,
    onnotice: () => {},
    debug: (_connection, query) => count(statements, query.replace(/\s+/g, ' ').trim().slice(0, 90)),
  });
  (globalThis as { __agentMintDb?: unknown }).__agentMintDb = { sql, db: drizzle(sql, { schema }) };
}
const request = Pool.prototype.request;
Pool.prototype.request = function (this: Pool, options: Parameters<Pool['request']>[0], ...rest: unknown[]) {
  if (counting) {
    httpRequests++;
    const body = JSON.parse(String(options.body)) as { method: string } | { method: string }[];
    for (const call of Array.isArray(body) ? body : [body]) count(rpcCalls, call.method);
  }
  return (request as (...args: unknown[]) => unknown).call(this, options, ...rest);
} as Pool['request'];

const { getSql } = await import('@/db/client');
const { TASK_EVENTS_CHANNEL, wakeWorkers } = await import('@/db/tasks');
const { MintWorker } = await import('@/worker/loop');
const token = stack.deployment.tokens[0]!.address;
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;

const ends = new Map<string, (status: string) => void>();
await getSql().listen(TASK_EVENTS_CHANNEL, (payload) => {
  const { taskId, status } = JSON.parse(payload) as { taskId: string; status: string };
  if (['completed', 'failed', 'cancelled'].includes(status)) ends.get(taskId)?.(status);
});

const worker = new MintWorker();
await worker.start();
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('HeapProfiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });

/** CPU ms so far of each of this process's threads, by thread name (main, V8 workers, libuv pool…). */
function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const name =
        tid === String(process.pid) ? 'main' : `${readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()}:${tid}`;
      const ms = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
      byName.set(name, (byName.get(name) ?? 0) + ms);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}
const threadTotals = new Map<string, number>();

/** One task, funded outside the count, from the chain state of now: its CPU (this process) and wall ms. */
async function runOne(profile: boolean, trace = false, heap = false) {
  return fromSameChain(async () => {
    const task = await fundedTask(newUser(), token, N);
    const ended = new Promise<string>((resolve) => ends.set(task.id, resolve));
    if (profile) await session.post('Profiler.start');
    // Every allocation sampled (interval 1 byte… is too slow): one sample per 4 KB allocated, kept even if collected.
    if (heap)
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    if (trace) [tracing, traceStart] = [[], performance.now()];
    counting = true;
    if (process.env.MARK_ROUNDS) console.log('=== round start');
    const threads = threadCpu();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await wakeWorkers(task.id);
    const status = await ended;
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    for (const [name, ms] of threadCpu())
      threadTotals.set(name, (threadTotals.get(name) ?? 0) + ms - (threads.get(name) ?? 0));
    counting = false;
    if (process.env.MARK_ROUNDS) console.log('=== round end');
    const lines = tracing;
    tracing = undefined;
    const result = profile ? (await session.post('Profiler.stop')).profile : undefined;
    const heapProfile = heap ? (await session.post('HeapProfiler.stopSampling')).profile : undefined;
    if (status !== 'completed') throw new Error(`task ${task.id} ${status}`);
    return { ms, cpuMs: (used.user + used.system) / 1000, profile: result, trace: lines, heapProfile };
  });
}

try {
  for (let i = 0; i < WARMUP; i++) await runOne(false); // JIT, connections
  for (const map of [statements, rpcCalls, threadTotals]) map.clear();
  httpRequests = 0;
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const last = round === ROUNDS - 1;
    runs.push(await runOne(last && PROFILE !== undefined, last && TRACE, last && HEAP_PROFILE !== undefined));
  }
  if (TRACE) console.log(runs.at(-1)!.trace!.join('\n'));
  const batches = Math.ceil(N / BATCH);
  const per = (n: number) =>
    `${(n / ROUNDS).toFixed(1).padStart(6)} a task  ${(n / ROUNDS / batches).toFixed(2).padStart(5)} a batch`;
  console.log(
    `\n${N} mints, batch ${BATCH} (${batches} batches), ${ROUNDS} rounds after ${WARMUP} warm-up tasks; this process's CPU`,
  );
  console.log(
    `  CPU ms a task: median ${median(runs.map((r) => r.cpuMs)).toFixed(1)} (${runs.map((r) => r.cpuMs.toFixed(0)).join(' ')}), wall ${median(runs.map((r) => r.ms)).toFixed(0)} ms`,
  );
  console.log(
    `  by thread (ms a task): ${[...threadTotals].map(([name, ms]) => `${name} ${(ms / ROUNDS).toFixed(1)}`).join(', ')}`,
  );
  console.log(`  HTTP requests to the node: ${per(httpRequests)}`);
  const list = (title: string, map: Map<string, number>) => {
    const total = [...map.values()].reduce((a, b) => a + b, 0);
    console.log(`  ${title}: ${per(total)}`);
    for (const [key, n] of [...map].sort((a, b) => b[1] - a[1]))
      console.log(`    ${(n / ROUNDS).toFixed(1).padStart(6)}  ${key}`);
  };
  list('JSON-RPC calls', rpcCalls);
  list('SQL statements', statements);
  const heapProfile = runs.at(-1)!.heapProfile;
  if (HEAP_PROFILE && heapProfile) {
    writeFileSync(HEAP_PROFILE, JSON.stringify(heapProfile));
    console.log(`  heap profile of the last round: ${HEAP_PROFILE}`);
  }
  const last = runs.at(-1)!.profile;
  if (PROFILE && last) {
    writeFileSync(PROFILE, JSON.stringify(last));
    console.log(`  CPU profile of the last round: ${PROFILE}`);
  }
} finally {
  await worker.stop();
  await stack.stop();
}
process.exit(0);
