// `npm run bench:topup`: what the user waits for one task, from the fund call to `completed`, on
// a chain mining a block every 2 s (Base-like), at default settings (batched, batch 10, 5 s
// pacing), with the agent's first gas top-up sent by the fund route beside the funding transfer
// (EARLY_GAS_TOPUP, the default) against the worker sending it when it starts: one task, and
// 20 users funding at once. Both ways in one run, on one stack, through the real fund route
// handler's lib call (fundTask) and an in-process worker.
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { getConfig } from '@/lib/config';
import { createPendingTask } from '@/test/support/fixtures';
import { startTestStack } from '@/test/support/stack';
import { fundTask } from '@/lib/tasks/fund-task';
import { authorizationFor, signAuthorization } from '@/test/support/funding';
import { startMintWorker } from '@/test/support/worker';
import { sendUsdc } from './mint-baselines';

const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const QUANTITY = 20;
const MANY = 20;
const stack = await startTestStack({
  env: {
    MINT_EXECUTION: 'batch',
    MINT_INTERVAL_MS: '5000',
    MINT_BATCH_SIZE: '10',
    CHECK_INTERVAL_MS: '1000',
    LOG_LEVEL: 'silent',
    NODE_ENV: 'production',
    USER_MAX_TOPUP_PER_DAY_ETH: '1000',
  },
});
const worker = await startMintWorker();
const token = stack.deployment.tokens[0]!.address;
const rpc = (method: string, params: unknown[]) =>
  fetch(stack.env.RPC_URL!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A task of a new user (a new agent wallet, holding no ETH), with the user's USDC and signed authorization; made while the chain still mines at once. */
async function preparedTask() {
  const owner = privateKeyToAccount(generatePrivateKey());
  const task = await createPendingTask({ userAddress: owner.address as Address, token, quantity: QUANTITY });
  await sendUsdc(owner.address, BigInt(task.totalCost));
  const terms = authorizationFor(task, { validBefore: String(Math.floor(Date.now() / 1000) + 7200) });
  const signature = await signAuthorization(owner, terms);
  const authorization = {
    ...terms,
    value: BigInt(terms.value),
    validAfter: BigInt(terms.validAfter),
    validBefore: BigInt(terms.validBefore),
  };
  return { taskId: task.id, authorization, signature };
}
type Prepared = Awaited<ReturnType<typeof preparedTask>>;

async function completed(id: string) {
  for (;;) {
    const current = await getTaskById({ id });
    if (current?.status === 'completed') return;
    if (current?.status === 'failed' || current?.status === 'cancelled')
      throw new Error(`task ${current.status}: ${current.errorMessage}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Tasks funded at once through the fund route: fund calls → the last `completed`, and top-ups per task. */
async function fundToCompleted(tasks: Prepared[], early: boolean) {
  getConfig().worker.earlyGasTopUp = early; // the bench owns this process's config
  const started = performance.now();
  await Promise.all(
    tasks.map(async (t) => {
      await fundTask(t); // the route's one lib call (the route's per-IP rate limit would refuse 20 at once from here)
      await completed(t.taskId);
    }),
  );
  const totalMs = performance.now() - started;
  const [row] = await getSql()<
    { n: number }[]
  >`select count(*)::int as n from agent_gas_topups where task_id in ${getSql()(tasks.map((t) => t.taskId))}`;
  return { totalMs, topUpsPerTask: row!.n / tasks.length };
}

try {
  // Everything the runs need, made at automine speed; then blocks every 2 s.
  const singles = { early: [] as Prepared[], late: [] as Prepared[] };
  for (let i = 0; i < ROUNDS; i++) (singles.early.push(await preparedTask()), singles.late.push(await preparedTask()));
  const many = { early: [] as Prepared[], late: [] as Prepared[] };
  for (let i = 0; i < MANY; i++) (many.early.push(await preparedTask()), many.late.push(await preparedTask()));
  await rpc('evm_setAutomine', [false]);
  await rpc('evm_setIntervalMining', [2]);

  const runs = {
    early: [] as Awaited<ReturnType<typeof fundToCompleted>>[],
    late: [] as Awaited<ReturnType<typeof fundToCompleted>>[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating which goes first, so neither always meets the chain right after the other.
    for (const way of round % 2 === 0 ? (['early', 'late'] as const) : (['late', 'early'] as const))
      runs[way].push(await fundToCompleted([singles[way][round]!], way === 'early'));
  }
  const late20 = await fundToCompleted(many.late, false);
  const early20 = await fundToCompleted(many.early, true);

  const oneLate = median(runs.late.map((x) => x.totalMs));
  const oneEarly = median(runs.early.map((x) => x.totalMs));
  const row = (label: string, value: string) => console.log(`  ${label.padEnd(52)} ${value}`);
  console.log(
    `\nFund call → completed, ${QUANTITY}-mint tasks, anvil mining every 2 s, batched, batch 10, 5 s pacing, in-process worker\n`,
  );
  row(
    'one task, top-up by the worker (EARLY_GAS_TOPUP=false)',
    `${formatSeconds(oneLate)}  (median of ${ROUNDS}: ${runs.late.map((x) => formatSeconds(x.totalMs)).join(', ')})`,
  );
  row(
    'one task, top-up with the funding (default)',
    `${formatSeconds(oneEarly)}  (median of ${ROUNDS}: ${runs.early.map((x) => formatSeconds(x.totalMs)).join(', ')})`,
  );
  row(
    '  with the funding ÷ by the worker',
    `${(oneEarly / oneLate).toFixed(2)}  (${formatSeconds(oneLate - oneEarly)} sooner)`,
  );
  row(
    `${MANY} users at once, top-up by the worker`,
    `${formatSeconds(late20.totalMs)} = ${(late20.totalMs / oneLate).toFixed(2)}× its one task`,
  );
  row(
    `${MANY} users at once, top-up with the funding`,
    `${formatSeconds(early20.totalMs)} = ${(early20.totalMs / oneEarly).toFixed(2)}× its one task`,
  );
  row('top-ups per task (by the worker · with the funding)', `${late20.topUpsPerTask} · ${early20.topUpsPerTask}`);
  console.log('');
} finally {
  await worker.stop();
  await stack.stop();
}
process.exit(0);
