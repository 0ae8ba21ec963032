// `npm run bench:mint -- --ab=<git ref>`: the worker of <ref> (A) against this tree's worker (B),
// side by side in one run on one stack: each runs as its own process (as `npm run worker` runs
// it) from its own copy of the code, and they take turns, round by round, each 200-mint task
// from the same chain state. Prints each side's time and CPU per mint (worker, anvil, Postgres)
// and B ÷ A, and (b), the chain's raw limit, measured in the same rounds.
//   --rounds=N (12)  --quantity=N (200)  --batch=N (10)  --execution=batch|single (batch)
//   --warmup=N (4)  tasks each worker runs before the measured rounds (V8 is still optimizing
//                   the worker's code for several tasks: ~50 ms of compiler-thread CPU a task after one)
//   --split=n       each side also runs an n-mint task every round, right after its N-mint one, and
//                   the worker's CPU a task is split into a fixed part and a per-mint part:
//                   cpu(N) = fixed + per mint × N, from the two quantities' medians
//   --b-flags=--x,--y  Node/V8 flags for B's process only (with --ab=HEAD: a flag against none, same code)
//   --tidy          each task's wallet tidy after its end (refund, gas sweep) runs on the task's
//                   chain state, waited for before the chain is put back, its CPU printed apart.
//                   Without it the chain is put back at the task's end and the tidy finds an empty
//                   wallet. (With it, three runs of 7 Dec measured A's in-task CPU far higher,
//                   B's a little: bench/README.md, "Latest".)
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { unpacedMintEnv } from './mint-env';
import { startTestStack } from '@/test/support/stack';
import { cpuNow, cpuSince, perMint, processCpuMs, type Cpu } from './cpu';
import { fromSameChain, fundedTask, median, prepareAgent, runRawLimit } from './mint-baselines';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const root = path.resolve(import.meta.dirname, '..');
const ref = arg('ab')!;
const ROUNDS = Number(arg('rounds') ?? 12);
const N = Number(arg('quantity') ?? 200);
const BATCH = arg('batch') ?? '10';
const EXECUTION = arg('execution') ?? 'batch';
const WARMUP = Number(arg('warmup') ?? 4);
const B_FLAGS = arg('b-flags')?.split(',') ?? [];
const TIDY = process.argv.includes('--tidy');
const SPLIT = arg('split') === undefined ? undefined : Number(arg('split'));

// A's code: the commit's tree (git archive, no work tree or branch created), with this tree's node_modules.
const sha = execSync(`git rev-parse --verify ${JSON.stringify(`${ref}^{commit}`)}`, { cwd: root })
  .toString()
  .trim();
const treeA = mkdtempSync(path.join(os.tmpdir(), `agentmint-ab-${sha.slice(0, 8)}-`));
execSync(`git archive --format=tar ${sha} | tar -x -C ${JSON.stringify(treeA)}`, { cwd: root });
symlinkSync(path.join(root, 'node_modules'), path.join(treeA, 'node_modules'));

const env = unpacedMintEnv({ MINT_EXECUTION: EXECUTION, MINT_BATCH_SIZE: BATCH, LOG_LEVEL: 'warn' });
const stack = await startTestStack({ env });
const { getSql } = await import('@/db/client');
const { TASK_EVENTS_CHANNEL, wakeWorkers } = await import('@/db/tasks');
const token = stack.deployment.tokens[0]!.address;
const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Task ends, from the events channel (a settle and every transition notify it).
const ends = new Map<string, (status: string) => void>();
await getSql().listen(TASK_EVENTS_CHANNEL, (payload) => {
  const { taskId, status } = JSON.parse(payload) as { taskId: string; status: string };
  if (['completed', 'failed', 'cancelled'].includes(status)) ends.get(taskId)?.(status);
});

type Side = { name: 'A' | 'B'; label: string; child: ChildProcess; output: string[] };
function startWorker(name: Side['name'], cwd: string, label: string): Side {
  const flags = name === 'B' ? B_FLAGS : [];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', 'worker/index.ts'], {
    cwd,
    env: { ...process.env, ...stack.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  return { name, label, child, output };
}

/** One task through `side`'s worker, from the chain state of now (put back after): ms and CPU from the wake-up to its end. */
function run(side: Side, quantity: number) {
  return fromSameChain(async () => {
    const task = await fundedTask(newUser(), token, quantity);
    const ended = new Promise<string>((resolve) => ends.set(task.id, resolve));
    const timeout = setTimeout(() => ends.get(task.id)?.('timeout'), 120_000);
    const before = cpuNow(side.child.pid);
    const started = performance.now();
    await wakeWorkers(task.id);
    const status = await ended;
    const ms = performance.now() - started;
    const cpu = cpuSince(before, side.child.pid);
    clearTimeout(timeout);
    // The task's wallet tidy (and the claim finding nothing) after its end, on this chain state.
    const end = processCpuMs(side.child.pid!);
    if (TIDY) await idle(side);
    const after = processCpuMs(side.child.pid!) - end;
    if (status === 'completed') return { ms, cpu, after };
    // A side that fails a task loses that round (both sides' figures), not the run: 8a68b83's
    // pipeline could run an agent out of gas (gas_funds; bench/README.md, "Found on the way").
    const reason =
      side.output
        .join('')
        .split('\n')
        .findLast((l) => l.includes(task.id)) ?? '';
    console.log(`  ${side.name}: task ${task.id} ${status}, round not counted: ${reason.slice(0, 300)}`);
    return undefined;
  });
}

/**
 * Stops a worker (SIGSTOP) once it is idle: no statement of it running, and its own CPU flat
 * for 200 ms. A task's end is followed by a claim (finding nothing), whose transaction holds
 * the claim lock, and a worker stopped inside it would block the other's claims until it is
 * continued; and by the task's wallet tidy (refund, gas sweep: a transaction and its receipt),
 * which a worker stopped inside would finish in its next measured round. So each round counts
 * one task's run, wake-up to end, on either side, and no side's work after a task's end.
 */
async function pause(side: Side) {
  await idle(side);
  side.child.kill('SIGSTOP');
}

/** Waits (at most 5 s) until no statement of the stack runs and `side`'s own CPU is flat for 200 ms. */
async function idle(side: Side) {
  let cpu = processCpuMs(side.child.pid!);
  for (let i = 0, flat = 0; flat < 2 && i < 50; i++) {
    await sleep(100);
    const [busy] = await getSql()<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity where state = 'idle in transaction' or (state = 'active' and pid <> pg_backend_pid() and query not ilike 'listen%')`;
    const now = processCpuMs(side.child.pid!);
    flat = busy!.n === 0 && now - cpu < 1 ? flat + 1 : 0;
    cpu = now;
  }
}

/** Lets `side` run alone: the other is stopped, and `side` has caught up on the wake-ups it missed (finding nothing to claim). */
async function alone(side: Side, other: Side) {
  await pause(other);
  side.child.kill('SIGCONT');
  await sleep(300);
}

const sides: Side[] = [];
try {
  console.log(
    `\nA/B, ${N} mints unpaced, MINT_EXECUTION=${EXECUTION}, batch ${BATCH}, depth 4: A = ${ref} (${sha.slice(0, 10)}), B = this tree; ${WARMUP} warm-up tasks each, ${ROUNDS} rounds, each side's task from the same chain state, the order alternating\n`,
  );
  // Each worker starts with a task waiting for it, then runs WARMUP - 1 more (JIT, connections), then waits stopped.
  for (const [name, cwd, label] of [
    ['A', treeA, ref],
    ['B', root, 'this tree'],
  ] as const) {
    const warm = await fundedTask(newUser(), token, N);
    const ended = new Promise<string>((resolve) => ends.set(warm.id, resolve));
    const side = startWorker(name, cwd, label);
    sides.push(side);
    const status = await Promise.race([ended, sleep(120_000).then(() => 'timeout')]);
    if (status !== 'completed') throw new Error(`${name}'s warm-up task ${status}\n${side.output.join('')}`);
    for (let i = 1; i < WARMUP; i++) await run(side, N);
    side.output.length = 0;
    await pause(side);
  }
  const [a, b] = sides as [Side, Side];
  type Run = { ms: number; cpu: Cpu; after: number };
  const results = { A: [] as Run[], B: [] as Run[] };
  const small = { A: [] as Run[], B: [] as Run[] }; // --split: the n-mint tasks
  const raw: number[] = [];
  let lost = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const pair: Partial<Record<'A' | 'B', Run>> = {};
    const smallPair: Partial<Record<'A' | 'B', Run>> = {};
    for (const [side, other] of round % 2 === 0
      ? [[a, b] as const, [b, a] as const]
      : [[b, a] as const, [a, b] as const]) {
      await alone(side, other);
      pair[side.name] = await run(side, N);
      if (SPLIT) smallPair[side.name] = await run(side, SPLIT);
      side.output.length = 0;
    }
    if (pair.A && pair.B) (results.A.push(pair.A), results.B.push(pair.B));
    else lost++;
    if (smallPair.A && smallPair.B) (small.A.push(smallPair.A), small.B.push(smallPair.B));
    await pause(a);
    await pause(b);
    raw.push(await fromSameChain(async () => (await runRawLimit(await prepareAgent(newUser(), token, N), N)).ms));
  }

  const rawMs = median(raw);
  const summary = (name: 'A' | 'B') => {
    const rs = results[name];
    const per = rs.map((r) => perMint(r.cpu, N));
    return {
      ms: median(rs.map((r) => r.ms)),
      worker: median(per.map((p) => p.worker)),
      anvil: median(per.map((p) => p.anvil)),
      postgres: median(per.map((p) => p.postgres)),
      total: median(per.map((p) => p.total)),
    };
  };
  const sa = summary('A');
  const sb = summary('B');
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`.padStart(8);
  const row = (label: string, s: ReturnType<typeof summary>) =>
    console.log(
      `  ${label.padEnd(28)} ${(s.ms / 1000).toFixed(3)} s  ${((rawMs / s.ms) * 100).toFixed(0).padStart(3)}% of (b)   worker ${us(s.worker)}  anvil ${us(s.anvil)}  Postgres ${us(s.postgres)}  all ${us(s.total)}`,
    );
  console.log(
    `  medians of ${results.A.length} rounds${lost ? ` (${lost} lost to a failed task)` : ''}; CPU per mint\n`,
  );
  row(`A  ${ref}`, sa);
  row('B  this tree', sb);
  console.log(`  (b) raw limit                ${(rawMs / 1000).toFixed(3)} s`);
  // Paired: each round's B ÷ A, so a slow moment of the machine that hits both sides cancels out.
  const paired = (f: (c: Cpu) => number) => median(results.B.map((r, i) => f(r.cpu) / f(results.A[i]!.cpu))).toFixed(2);
  console.log(
    `\n  B ÷ A: worker CPU ${(sb.worker / sa.worker).toFixed(2)} (paired by round ${paired((c) => c.worker)}), anvil ${(sb.anvil / sa.anvil).toFixed(2)}, Postgres ${(sb.postgres / sa.postgres).toFixed(2)}, all ${(sb.total / sa.total).toFixed(2)} (paired ${paired((c) => c.worker + c.anvil + c.postgres)}); time ${(sb.ms / sa.ms).toFixed(2)}`,
  );
  const each = (name: 'A' | 'B') => results[name].map((r) => `${(r.cpu.worker / N).toFixed(2)}`).join(' ');
  console.log(`  worker ms per mint by round: A ${each('A')}\n                               B ${each('B')}`);
  const after = (name: 'A' | 'B') => median(results[name].map((r) => r.after)).toFixed(1);
  if (TIDY)
    console.log(
      `  worker CPU after a task's end (its wallet tidy: refund, gas sweep), not in the figures above: A ${after('A')} ms, B ${after('B')} ms a task`,
    );
  console.log('');
  if (SPLIT && small.A.length) {
    // cpu(q) = fixed + perMint × q, through the medians at q = N and q = SPLIT.
    const split = (name: 'A' | 'B') => {
      const big = median(results[name].map((r) => r.cpu.worker));
      const little = median(small[name].map((r) => r.cpu.worker));
      const perMintMs = (big - little) / (N - SPLIT);
      return { big, little, perMintMs, fixed: little - perMintMs * SPLIT };
    };
    const [xa, xb] = [split('A'), split('B')];
    console.log(
      `  worker CPU a task, ${N} and ${SPLIT} mints (medians of ${small.A.length} rounds) = fixed + per mint × N:`,
    );
    for (const [name, x] of [
      ['A', xa],
      ['B', xb],
    ] as const)
      console.log(
        `    ${name}: ${x.big.toFixed(1)} ms and ${x.little.toFixed(1)} ms = ${x.fixed.toFixed(1)} ms + ${(x.perMintMs * 1000).toFixed(0)} µs × N`,
      );
    console.log(
      `    B ÷ A: fixed ${(xb.fixed / xa.fixed).toFixed(2)}, per mint ${(xb.perMintMs / xa.perMintMs).toFixed(2)}; ${SPLIT}-mint task ${(xb.little / xa.little).toFixed(2)}\n`,
    );
  }
} finally {
  for (const side of sides) {
    side.child.kill('SIGCONT');
    side.child.kill('SIGKILL');
  }
  await stack.stop();
  rmSync(treeA, { recursive: true, force: true });
}
process.exit(0);
