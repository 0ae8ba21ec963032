import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { sumGasSpentWei } from '@/db/stats';
import { freePort } from '@/scripts/local/ports';
import { authorizationFor, postFund, signAuthorization } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor, webhookReceiver } from './receiver';

// The worker process as operators run it (`npm run worker`): after a real run its metrics
// endpoint shows the counts of that run and the webhook receiver got each event once.

const SECRET = 'whsec_worker_run';
const TOKEN = 'worker-metrics-token';
let stack: TestStack;
let receiver: ReturnType<typeof webhookReceiver>;
let metricsPort: number;
let worker: ChildProcess | undefined;
let workerOut = '';

function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

beforeAll(async () => {
  const hookPort = await freePort();
  metricsPort = await freePort();
  stack = await startTestStack({
    env: {
      WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hooks`,
      WEBHOOK_SECRET: SECRET,
      METRICS_TOKEN: TOKEN,
      WORKER_METRICS_PORT: String(metricsPort),
      MINT_BATCH_SIZE: '2',
      LOG_LEVEL: 'info',
    },
  });
  receiver = webhookReceiver(hookPort, SECRET);
  await receiver.start();
});
afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.on('exit', r));
  }
  await receiver?.stop();
  await stack?.stop();
});

describe('a worker run', () => {
  it('shows the run in its metrics and delivers the task webhooks once each', async () => {
    const alice = user(2);
    const task = await createPendingTask({
      userAddress: alice.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 5,
    });
    const authorization = authorizationFor(task);
    expect(
      (await postFund(task.id, { authorization, signature: await signAuthorization(alice, authorization) })).status,
    ).toBe(200);

    worker = spawn(path.resolve('node_modules/.bin/tsx'), ['worker/index.ts'], {
      env: { ...process.env, ...stack.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (c) => (workerOut += c));
    worker.stderr!.on('data', (c) => (workerOut += c));
    await waitFor(async () => (await getTaskById({ id: task.id }))?.status === 'completed', {
      timeoutMs: 90_000,
      everyMs: 250,
    });
    await waitFor(() => receiver.accepted().filter((r) => r.body.data?.id === task.id).length >= 2, {
      timeoutMs: 20_000,
    });

    const url = `http://127.0.0.1:${metricsPort}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    const text = await (await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(sample(text, 'agentmint_mints_sent_total')).toBe(5);
    expect(sample(text, 'agentmint_mints_confirmed_total')).toBe(5);
    expect(sample(text, 'agentmint_mints_failed_total')).toBe(0);
    expect(sample(text, 'agentmint_transactions_in_flight')).toBe(0);
    expect(sample(text, 'agentmint_batch_duration_seconds_count')).toBe(3);
    expect(sample(text, 'agentmint_task_duration_seconds_count{status="completed"}')).toBe(1);
    const ledgerGas = Number(await sumGasSpentWei());
    expect(ledgerGas).toBeGreaterThan(0);
    expect(sample(text, 'agentmint_gas_spent_wei_total')).toBe(ledgerGas);
    expect(sample(text, 'agentmint_ledger_gas_spent_wei')).toBe(ledgerGas);
    expect(sample(text, 'agentmint_tasks{status="completed"}')).toBe(1);
    expect(sample(text, 'agentmint_ledger_mints{status="confirmed"}')).toBe(5);
    expect(sample(text, 'agentmint_webhooks_delivered_total{event="task.completed"}')).toBe(1);

    await new Promise((r) => setTimeout(r, 500));
    const got = receiver.received.filter((r) => r.body.data?.id === task.id);
    expect(got.map((r) => [r.event, r.status, r.validSignature])).toEqual([
      ['task.funded', 200, true],
      ['task.completed', 200, true],
    ]);
    expect(got[1]!.body.data).toMatchObject({ status: 'completed', mintsCompleted: 5 });

    worker.kill('SIGTERM');
    expect(await new Promise((r) => worker!.on('exit', r))).toBe(0);
  }, 150_000);
});
