import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { type Address } from 'viem';
import { transitionTask, wakeWorkers } from '@/db/tasks';
import { createPendingTask } from '@/test/support/fixtures';
import { getConfig } from '@/lib/config';
import { startTestStack } from '@/test/support/stack';
import { sendUsdc } from './bench/mint-baselines';
const stack = await startTestStack({ env: { MINT_INTERVAL_MS: '0', MINT_BATCH_SIZE: '10', MINT_PIPELINE_DEPTH: '4', WORKER_CONCURRENCY: '20', CHECK_INTERVAL_MS: '600000', LOG_LEVEL: 'silent', LOG_FORMAT: 'json', NODE_ENV: 'production', USER_MAX_TOPUP_PER_DAY_ETH: '1000', MINT_EXECUTION: process.env.EXEC ?? 'batch' } });
const { MintWorker } = await import('@/worker/loop');
const token = stack.deployment.tokens[0]!.address;
const worker = new MintWorker();
const waiters = new Map<string, () => void>();
worker.onTaskDone = (task) => waiters.get(task.id)?.();
await worker.start();
const { getWorkerClient } = await import('@/worker/rpc');
const counts = new Map<string, number>();
const tr = getWorkerClient().transport as { request: (a: { method: string }) => Promise<unknown> };
const orig = tr.request.bind(tr);
tr.request = (a) => { counts.set(a.method, (counts.get(a.method) ?? 0) + 1); return orig(a); };
const { getSql } = await import('@/db/client');
let q = 0;
const sqlObj = getSql() as unknown as { unsafe: unknown };

async function run() {
  const task = await createPendingTask({ userAddress: privateKeyToAccount(generatePrivateKey()).address, token, quantity: 200 });
  await sendUsdc(task.agentAddress as Address, BigInt(task.totalCost));
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded', set: { fundedAt: new Date() } });
  const done = new Promise<void>((r) => waiters.set(task.id, r));
  const t = performance.now(); const c = process.cpuUsage();
  await wakeWorkers(task.id); await done;
  const cu = process.cpuUsage(c);
  return [performance.now() - t, (cu.user + cu.system) / 1000];
}
await run();
const session = new Session(); session.connect();
await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 100 }); await session.post('Profiler.start');
for (let i = 0; i < 5; i++) { counts.clear(); console.log(await run(), JSON.stringify([...counts])); }
const { profile } = await session.post('Profiler.stop');
writeFileSync('/tmp/bp/prof.cpuprofile', JSON.stringify(profile));
await worker.stop(); await stack.stop(); process.exit(0);
