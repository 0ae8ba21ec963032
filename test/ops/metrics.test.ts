import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { eq } from 'drizzle-orm';
import { formatEther } from 'viem';
import { getDb } from '@/db/client';
import { webhookDeliveries } from '@/db/schema';
import { transitionTask } from '@/db/tasks';
import { GET } from '@/app/api/metrics/route';
import { getPublicClient } from '@/lib/chain/clients';
import { createLogger, setLogger } from '@/lib/log';
import { resetBalanceCache } from '@/lib/metrics/collect';
import { getMetrics, recordGasSpent } from '@/lib/metrics/registry';
import { startWorkerMetricsServer } from '@/lib/metrics/server';
import { checkOperatorBalance, LOW_BALANCE_EVENT } from '@/lib/ops/operator-balance';
import { freePort } from '@/scripts/local/ports';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';

const TOKEN = 'metrics-token-for-tests';
let stack: TestStack;
let server: Server;
let port: number;
const lines: string[] = [];

/** The value of one sample line, e.g. `agentmint_tasks{status="funded"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const scrapeWeb = async (authorization?: string) => {
  const res = await GET(
    new Request('http://localhost/api/metrics', { headers: authorization ? { authorization } : {} }),
    {
      params: Promise.resolve({}),
    },
  );
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

beforeAll(async () => {
  stack = await startTestStack({
    // Far above the operator's anvil balance, so the low-balance alert fires.
    env: {
      METRICS_TOKEN: TOKEN,
      OPERATOR_MIN_ETH: '1000000',
      WEBHOOK_URL: 'http://127.0.0.1:9/hooks',
      WEBHOOK_SECRET: 's',
    },
  });
  setLogger(createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } }));
  port = await freePort();
  server = await startWorkerMetricsServer(port, '127.0.0.1');
  const token = stack.deployment.tokens[0]!.address;
  for (const quantity of [1, 2, 3]) await createPendingTask({ userAddress: user(2).address, token, quantity });
  const funded = await createPendingTask({ userAddress: user(3).address, token, quantity: 4 });
  await transitionTask({ id: funded.id, from: 'pending_payment', to: 'funded' });
});
afterAll(async () => {
  setLogger(undefined);
  await new Promise((r) => server?.close(r));
  await stack?.stop();
});

describe('metrics', () => {
  it('web /api/metrics needs the bearer token', async () => {
    expect((await scrapeWeb()).status).toBe(401);
    expect((await scrapeWeb('Bearer wrong-token-for-tests!!')).status).toBe(401);
    expect((await scrapeWeb(`Basic ${TOKEN}`)).status).toBe(401);
    const ok = await scrapeWeb(`Bearer ${TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.type).toContain('text/plain');
  });

  it('reports queue depth from the database and balances from the chain', async () => {
    resetBalanceCache();
    const { text } = await scrapeWeb(`Bearer ${TOKEN}`);
    expect(sample(text, 'agentmint_tasks{status="pending_payment"}')).toBe(3);
    expect(sample(text, 'agentmint_tasks{status="funded"}')).toBe(1);
    expect(sample(text, 'agentmint_tasks{status="processing"}')).toBe(0);
    const operatorWei = await getPublicClient().getBalance({ address: stack.operator });
    expect(sample(text, 'agentmint_operator_balance_eth')).toBeCloseTo(Number(formatEther(operatorWei)), 6);
    // The funded task's agent is the one active wallet.
    expect(text).toMatch(/agentmint_agent_balance_eth\{agent="0x[0-9a-fA-F]{40}"\} 0/);
    expect(sample(text, 'agentmint_ledger_gas_spent_wei')).toBe(0);
  });

  it('the worker endpoint serves the same registry with the same token rule, counters included', async () => {
    const metrics = getMetrics();
    const before = (await metrics.mintsSent.get()).values[0]?.value ?? 0;
    metrics.mintsSent.inc(3);
    metrics.mintsConfirmed.inc(2);
    metrics.mintsFailed.inc();
    recordGasSpent(21_000n, 2_000_000_000n);
    metrics.batchDuration.observe(1.5);
    const url = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect(
      (await fetch(`http://127.0.0.1:${port}/other`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(404);
    const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(sample(text, 'agentmint_mints_sent_total')).toBe(before + 3);
    expect(sample(text, 'agentmint_mints_confirmed_total')).toBe(2);
    expect(sample(text, 'agentmint_mints_failed_total')).toBe(1);
    expect(sample(text, 'agentmint_gas_spent_wei_total')).toBe(42_000_000_000_000);
    expect(sample(text, 'agentmint_batch_duration_seconds_count')).toBe(1);
    expect(sample(text, 'agentmint_tasks{status="funded"}')).toBe(1);
  });
});

describe('operator balance alert', () => {
  it('logs once, sets the gauge and queues one operator.low_balance webhook per hour', async () => {
    const first = await checkOperatorBalance();
    expect(first).toMatchObject({ low: true, alerted: true });
    const second = await checkOperatorBalance();
    expect(second).toMatchObject({ low: true, alerted: false });
    const rows = await getDb().select().from(webhookDeliveries).where(eq(webhookDeliveries.event, LOW_BALANCE_EVENT));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.payload).toMatchObject({
      operator: stack.operator,
      thresholdEth: '1000000',
      balanceWei: first.balanceWei.toString(),
    });
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => /below OPERATOR_MIN_ETH/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, operator: stack.operator });
    const { text } = await scrapeWeb(`Bearer ${TOKEN}`);
    expect(sample(text, 'agentmint_operator_low_balance')).toBe(1);
  });
});
