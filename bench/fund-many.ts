// `npm run bench:fund`: what 20 users funding at once wait, against one user, as a ratio, from
// the fund call to `completed`, on a chain mining a block every 2 s (Base-like), at default
// settings, with one web process (`next start`, its default pool of DB_POOL_MAX connections)
// and one worker process (`npm run worker`). Fund calls go over HTTP to the real fund route.
// Target (#23 §5): 20 at once within 1.5× one user.
import path from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { getSql } from '@/db/client';
import { startNextServer, type NextServer } from '@/scripts/local/next-start';
import { createPendingTask } from '@/test/support/fixtures';
import { startTestStack } from '@/test/support/stack';
import { authorizationFor, signAuthorization } from '@/test/support/funding';
import { killWorker, spawnWorker, type WorkerChild } from '@/test/support/worker';
import { sendUsdc } from './mint-baselines';

const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const QUANTITY = 20;
const MANY = 20;
const DIST = '.next-bench'; // shared with bench:api: one build serves both

const stack = await startTestStack({
  // Undo the test stack's own choices (unpaced, one transaction per mint): the defaults are a 5 s
  // pacing and MINT_EXECUTION=auto (EIP-7702 batches where the chain has them, as anvil does).
  env: { MINT_INTERVAL_MS: '5000', MINT_EXECUTION: 'auto', LOG_LEVEL: 'warn', NODE_ENV: 'production' },
});
let web: NextServer | undefined;
let worker: WorkerChild | undefined;
const token = stack.deployment.tokens[0]!.address;
const rpc = (method: string, params: unknown[]) =>
  fetch(stack.env.RPC_URL!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A task of a new user (a new agent wallet, holding no ETH) with the user's USDC and signed authorization; made while the chain mines at once. */
async function preparedTask() {
  const owner = privateKeyToAccount(generatePrivateKey());
  const task = await createPendingTask({ userAddress: owner.address as Address, token, quantity: QUANTITY });
  await sendUsdc(owner.address, BigInt(task.totalCost));
  const authorization = authorizationFor(task, { validBefore: String(Math.floor(Date.now() / 1000) + 7200) });
  return {
    taskId: task.id,
    body: JSON.stringify({ authorization, signature: await signAuthorization(owner, authorization) }),
  };
}
type Prepared = Awaited<ReturnType<typeof preparedTask>>;

/** Tasks funded at once through the fund route: fund calls → the last one `completed`. */
async function fundToCompleted(tasks: Prepared[]) {
  const started = performance.now();
  const answers = await Promise.all(
    tasks.map(async (t) => {
      const res = await fetch(`${web!.url}/api/ai-agent/task/${t.taskId}/fund`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: t.body,
      });
      return { status: res.status, body: await res.text(), ms: performance.now() - started };
    }),
  );
  const refused = answers.filter((a) => a.status !== 200);
  if (refused.length) throw new Error(`fund answered ${refused[0]!.status}: ${refused[0]!.body.slice(0, 300)}`);
  const ids = tasks.map((t) => t.taskId);
  // One query for all of them (this process's pool is not the web process's).
  for (;;) {
    const rows = await getSql()<
      { status: string; error: string | null }[]
    >`select status, error_message as error from ai_agent_tasks where id in ${getSql()(ids)}`;
    const ended = rows.find((r) => r.status === 'failed' || r.status === 'cancelled');
    if (ended) throw new Error(`a task ended ${ended.status}: ${ended.error}`);
    if (rows.every((r) => r.status === 'completed')) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { totalMs: performance.now() - started, fundedMs: Math.max(...answers.map((a) => a.ms)) };
}

try {
  console.log('[bench:fund] next build if stale, then next start and a worker…');
  web = await startNextServer({ distDir: DIST, env: stack.env, logFile: path.join(stack.dir, 'web.log') });
  worker = spawnWorker(stack.env);
  // Everything the runs need, made at automine speed; then a block every 2 s.
  const singles: Prepared[] = [];
  for (let i = 0; i < ROUNDS; i++) singles.push(await preparedTask());
  const many: Prepared[] = [];
  for (let i = 0; i < MANY; i++) many.push(await preparedTask());
  await rpc('evm_setAutomine', [false]);
  await rpc('evm_setIntervalMining', [2]);

  const ones = [];
  for (const t of singles) ones.push(await fundToCompleted([t]));
  const all = await fundToCompleted(many);

  const one = median(ones.map((x) => x.totalMs));
  const row = (label: string, value: string) => console.log(`  ${label.padEnd(40)} ${value}`);
  console.log(
    `\nFund call → completed, ${QUANTITY}-mint tasks, a block every 2 s, default settings, one web process (next start) and one worker\n`,
  );
  row(
    'one user',
    `${formatSeconds(one)}  (median of ${ROUNDS}: ${ones.map((x) => formatSeconds(x.totalMs)).join(', ')}; fund call ${formatSeconds(median(ones.map((x) => x.fundedMs)))})`,
  );
  row(
    `${MANY} users at once`,
    `${formatSeconds(all.totalMs)}  (last fund call answered after ${formatSeconds(all.fundedMs)})`,
  );
  row(`${MANY} users ÷ one user`, `${(all.totalMs / one).toFixed(2)}×  (target ≤ 1.5×)`);
  console.log('');
} finally {
  await web?.stop();
  if (worker) await killWorker(worker);
  await stack.stop();
}
process.exit(0);
