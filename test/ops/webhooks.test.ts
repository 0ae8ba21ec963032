import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { webhookDeliveries } from '@/db/schema';
import { getTaskById, transitionTask } from '@/db/tasks';
import { cancelTask } from '@/lib/tasks/cancel-task';
import { toTaskDto } from '@/lib/tasks/serialize';
import { dispatchDueWebhooks, startWebhookDispatcher } from '@/lib/webhooks/dispatcher';
import { signWebhook, verifyWebhookSignature } from '@/lib/webhooks/signature';
import { freePort } from '@/scripts/local/ports';
import { authorizationFor, postFund, signAuthorization } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { waitFor, webhookReceiver } from './receiver';

const SECRET = 'whsec_test_0123456789';
const FAST = { pollMs: 50, backoff: { baseMs: 100, capMs: 400, maxAttempts: 12 } };

let stack: TestStack;
let receiver: ReturnType<typeof webhookReceiver>;
let token: `0x${string}`;

beforeAll(async () => {
  const port = await freePort();
  stack = await startTestStack({ env: { WEBHOOK_URL: `http://127.0.0.1:${port}/hooks`, WEBHOOK_SECRET: SECRET } });
  token = stack.deployment.tokens[0]!.address;
  receiver = webhookReceiver(port, SECRET);
  await receiver.start();
});
afterAll(async () => {
  await receiver?.stop();
  await stack?.stop();
});

async function withDispatcher<T>(fn: () => Promise<T>, options: Partial<typeof FAST> = {}): Promise<T> {
  const controller = new AbortController();
  const dispatcher = startWebhookDispatcher({ signal: controller.signal, ...FAST, ...options });
  try {
    return await fn();
  } finally {
    controller.abort();
    await dispatcher.done;
  }
}

const deliveriesOf = (taskId: string) =>
  getDb().select().from(webhookDeliveries).where(eq(webhookDeliveries.taskId, taskId));
const receivedFor = (taskId: string) => receiver.received.filter((r) => r.body.data?.id === taskId);

async function cancelledTask() {
  const task = await createPendingTask({ userAddress: user(3).address, token, quantity: 1 });
  await cancelTask({ taskId: task.id, userAddress: task.userAddress });
  return task;
}

describe('webhooks', () => {
  it('delivers funded and completed once each, signed, with the task as the API shows it', async () => {
    const alice = user(1);
    const task = await createPendingTask({ userAddress: alice.address, token, quantity: 2 });
    const authorization = authorizationFor(task);
    const fund = await postFund(task.id, { authorization, signature: await signAuthorization(alice, authorization) });
    expect(fund.status).toBe(200);
    await transitionTask({ id: task.id, from: 'funded', to: 'processing', set: { startedAt: new Date() } });
    // Same-status update (cancel flag) and a lost race queue nothing.
    await transitionTask({ id: task.id, from: 'processing', to: 'processing', set: { priority: 1 } });
    expect(await transitionTask({ id: task.id, from: 'pending_payment', to: 'cancelled' })).toBeUndefined();
    await transitionTask({
      id: task.id,
      from: 'processing',
      to: 'completed',
      set: { completedAt: new Date(), mintsCompleted: 2 },
    });
    expect((await deliveriesOf(task.id)).map((d) => d.event).sort()).toEqual(['task.completed', 'task.funded']);

    await withDispatcher(() =>
      waitFor(async () => (await deliveriesOf(task.id)).every((d) => d.status === 'delivered')),
    );
    await new Promise((r) => setTimeout(r, 300));
    const got = receivedFor(task.id);
    expect(got.map((r) => r.event)).toEqual(['task.funded', 'task.completed']);
    expect(got.every((r) => r.validSignature)).toBe(true);
    expect(new Set(got.map((r) => r.deliveryId)).size).toBe(2);
    for (const r of got) expect(r.body).toMatchObject({ id: r.deliveryId, event: r.event, data: { id: task.id } });
    expect(got[0]!.body.data.status).toBe('funded');
    expect(got[0]!.body.data.fundingTxHash).toBe(fund.body.txHash);
    expect(got[1]!.body.data).toEqual(toTaskDto((await getTaskById({ id: task.id }))!));
  });

  it('keeps an event while the receiver is down and delivers it once when it is back', async () => {
    await receiver.stop();
    const task = await cancelledTask();
    await withDispatcher(async () => {
      await waitFor(async () => {
        const [d] = await deliveriesOf(task.id);
        return d && d.attempts >= 3 && d.status === 'pending' && /ECONNREFUSED/.test(d.lastError ?? '');
      });
      await receiver.start();
      await waitFor(async () => (await deliveriesOf(task.id))[0]!.status === 'delivered');
    });
    const got = receivedFor(task.id);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ event: 'task.cancelled', validSignature: true, status: 200 });
  });

  it('retries after a 500 and stops once accepted', async () => {
    receiver.failNext(2);
    const task = await cancelledTask();
    await withDispatcher(() => waitFor(async () => (await deliveriesOf(task.id))[0]!.status === 'delivered'));
    expect(receivedFor(task.id).map((r) => r.status)).toEqual([500, 500, 200]);
    const [row] = await deliveriesOf(task.id);
    expect(row).toMatchObject({ attempts: 3, status: 'delivered' });
  });

  it('gives up (dead) after the last attempt', async () => {
    receiver.failNext(100);
    const task = await cancelledTask();
    const backoff = { baseMs: 1, capMs: 1, maxAttempts: 3 };
    await waitFor(async () => {
      await dispatchDueWebhooks({ backoff });
      return (await deliveriesOf(task.id))[0]!.status === 'dead';
    });
    receiver.failNext(0);
    expect(receivedFor(task.id)).toHaveLength(3);
    expect((await deliveriesOf(task.id))[0]).toMatchObject({ attempts: 3, lastError: 'HTTP 500' });
  });

  it('signature covers timestamp and body', () => {
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const sig = signWebhook(SECRET, ts, '{"a":1}');
    expect(verifyWebhookSignature({ secret: SECRET, timestamp: ts, body: '{"a":1}', signature: sig }, { now })).toBe(
      true,
    );
    expect(verifyWebhookSignature({ secret: SECRET, timestamp: ts, body: '{"a":2}', signature: sig }, { now })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ secret: 'other', timestamp: ts, body: '{"a":1}', signature: sig }, { now })).toBe(
      false,
    );
    expect(
      verifyWebhookSignature(
        { secret: SECRET, timestamp: ts, body: '{"a":1}', signature: sig },
        { now: now + 3_600_000 },
      ),
    ).toBe(false);
  });
});
