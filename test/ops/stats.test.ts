import { beforeAll, describe, expect, it, vi } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { eq } from 'drizzle-orm';
import { keccak256, toHex } from 'viem';
import { getDb } from '@/db/client';
import { aiAgentMintRecords, aiAgentTasks, type TaskStatus } from '@/db/schema';
import { GET } from '@/app/api/ai-agent/stats/route';
import { cookieFor, sessionValueFor, type Cookie } from '../support/routes';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

const cookieJar = vi.hoisted(() => ({ value: undefined as string | undefined }));
vi.mock('next/headers', () => ({
  cookies: async () => ({ get: () => (cookieJar.value ? { value: cookieJar.value } : undefined) }),
}));

const admin = user(5);
const stranger = user(6);
const DAY = 86_400_000;
const startOfToday = () => new Date(Math.floor(Date.now() / DAY) * DAY);
const gwei = 1_000_000_000n;

async function finishedTask(status: TaskStatus, completedAt: Date, seconds: number) {
  const task = await createPendingTask({
    userAddress: user(4).address,
    token: stack.deployment.tokens[0]!.address,
    quantity: 5,
  });
  await getDb()
    .update(aiAgentTasks)
    // The worker's failed transition leaves completed_at empty; its updated_at is the moment.
    .set({
      status,
      startedAt: new Date(completedAt.getTime() - seconds * 1000),
      completedAt: status === 'failed' ? null : completedAt,
      updatedAt: completedAt,
    })
    .where(eq(aiAgentTasks.id, task.id));
  return task;
}

let seq = 0;
async function mintRecord(taskId: string, status: 'confirmed' | 'failed', at: Date, gasUsed: bigint, price: bigint) {
  seq++;
  await getDb()
    .insert(aiAgentMintRecords)
    .values({
      taskId,
      sequenceNumber: seq,
      mintId: keccak256(toHex(`mint-${seq}`)),
      nonce: seq,
      status,
      gasUsed: gasUsed.toString(),
      effectiveGasPrice: price.toString(),
      sentAt: at,
      confirmedAt: at,
    });
}

const session = cookieFor;
const getStats = async (query: string, cookieOrPromise?: Cookie) => {
  const cookie = await cookieOrPromise;
  const res = await GET(
    new Request(`http://localhost/api/ai-agent/stats${query}`, { headers: cookie ? { cookie } : {} }),
    {
      params: Promise.resolve({}),
    },
  );
  return { status: res.status, body: (await res.json()) as any };
};

const stack = useTestStack({
  env: {
    ADMIN_ADDRESSES: ` ${admin.address.toUpperCase().replace('0X', '0x')} , 0x0000000000000000000000000000000000000001`,
  },
});

beforeAll(async () => {
  const today = new Date(startOfToday().getTime() + 1000);
  const yesterday = new Date(startOfToday().getTime() - 12 * 3600_000);
  const yesterdayDone = await finishedTask('completed', yesterday, 60);
  const todayDone = await finishedTask('completed', today, 30);
  await finishedTask('completed', today, 90);
  const todayFailed = await finishedTask('failed', today, 500);
  await finishedTask('completed', new Date(startOfToday().getTime() - 10 * DAY), 10);
  await mintRecord(yesterdayDone.id, 'confirmed', yesterday, 21_000n, 1n * gwei);
  await mintRecord(yesterdayDone.id, 'confirmed', yesterday, 21_000n, 1n * gwei);
  await mintRecord(todayFailed.id, 'failed', today, 50_000n, 2n * gwei);
  await mintRecord(todayDone.id, 'confirmed', today, 30_000n, 3n * gwei);
  await createPendingTask({ userAddress: user(4).address, token: stack.deployment.tokens[0]!.address, quantity: 1 });
});

describe('GET /api/ai-agent/stats', () => {
  it('answers per-day series for an admin', async () => {
    const { status, body } = await getStats('?days=3', session(admin.address));
    expect(status).toBe(200);
    expect(body.series).toHaveLength(3);
    const [before, yesterday, today] = body.series;
    expect(before).toMatchObject({
      tasksCompleted: 0,
      tasksFailed: 0,
      mints: 0,
      avgTaskSeconds: null,
      gasSpentWei: '0',
    });
    expect(yesterday).toEqual({
      day: new Date(startOfToday().getTime() - DAY).toISOString().slice(0, 10),
      tasksCompleted: 1,
      tasksFailed: 0,
      mints: 2,
      avgTaskSeconds: 60,
      gasSpentWei: (42_000n * gwei).toString(),
    });
    expect(today).toEqual({
      day: startOfToday().toISOString().slice(0, 10),
      tasksCompleted: 2,
      tasksFailed: 1,
      mints: 1,
      avgTaskSeconds: 60,
      gasSpentWei: (190_000n * gwei).toString(),
    });
    expect(body.totals).toEqual({
      tasksCompleted: 3,
      tasksFailed: 1,
      mints: 3,
      avgTaskSeconds: 60,
      gasSpentWei: (232_000n * gwei).toString(),
    });
    expect(body.queue).toMatchObject({ completed: 4, failed: 1, pending_payment: 1, funded: 0 });
  });

  it('counts older days only when asked for them', async () => {
    const { body } = await getStats('?days=30', session(admin.address));
    expect(body.series).toHaveLength(30);
    expect(body.totals.tasksCompleted).toBe(4);
  });

  it('refuses everyone who is not an admin', async () => {
    expect((await getStats('?days=3')).status).toBe(401);
    const other = await getStats('?days=3', session(stranger.address));
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden:stats');
    expect(JSON.stringify(other.body)).not.toContain('tasksCompleted');
  });

  it('validates days', async () => {
    for (const q of ['?days=0', '?days=abc', '?days=1000', '?days=1.5']) {
      expect((await getStats(q, session(admin.address))).status).toBe(400);
    }
  });
});

describe('admin page', () => {
  const render = async () => {
    const { default: AdminPage } = await import('@/app/admin/page');
    return renderToStaticMarkup(await AdminPage({ searchParams: Promise.resolve({ days: '7' }) }));
  };

  it('shows charts and the queue to an admin', async () => {
    cookieJar.value = await sessionValueFor(admin.address);
    const html = await render();
    expect(html).toContain('data-testid="admin-page"');
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
    expect(html).toMatch(/data-testid="queue-table".*badge-completed[^<]*<\/span><\/td><td[^>]*>4</s);
    expect(html).toContain('No audit has run yet');
  });

  it("shows the last funds audit's time and result", async () => {
    const { insertAuditRun } = await import('@/db/audit');
    await insertAuditRun({
      startedAt: new Date(),
      fromBlock: 5n,
      toBlock: 90n,
      users: 3,
      discrepancies: 2,
      report: { discrepancies: [{ kind: 'usdc_unexplained_outflow' }, { kind: 'usdc_unexplained_outflow' }] },
    });
    cookieJar.value = await sessionValueFor(admin.address);
    const html = await render();
    expect(html).toMatch(
      /data-testid="last-audit".*2 discrepancies.*last run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC · 3 user\(s\) · blocks 5–90.*usdc_unexplained_outflow/s,
    );
  });

  it('shows only a refusal to anyone else', async () => {
    cookieJar.value = await sessionValueFor(stranger.address);
    let html = await render();
    expect(html).toContain('Not authorised');
    expect(html).not.toContain('<svg');
    cookieJar.value = undefined;
    html = await render();
    expect(html).toContain('Sign in with an operator wallet');
  });
});
