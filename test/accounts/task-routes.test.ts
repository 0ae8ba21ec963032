import { describe, expect, it } from 'vitest';
import { createWalletClient, erc20Abi, http, type Address } from 'viem';
import { getDb } from '@/db/client';
import { aiAgentMintRecords, type TaskStatus } from '@/db/schema';
import { getTaskById, transitionTask } from '@/db/tasks';
import { GET as tasksGET } from '@/app/api/ai-agent/tasks/[userAddress]/route';
import { GET as taskGET } from '@/app/api/ai-agent/task/[taskId]/route';
import { POST as cancelPOST } from '@/app/api/ai-agent/task/[taskId]/cancel/route';
import { POST as retryPOST } from '@/app/api/ai-agent/task/[taskId]/retry/route';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { call, cookieFor, type Cookie } from '../support/routes';

const stack = useTestStack();

const alice = user(1).address;
const bob = user(2).address;
const PATHS: Record<string, TaskStatus[]> = {
  pending_payment: [],
  funded: ['funded'],
  processing: ['funded', 'processing'],
  completed: ['funded', 'processing', 'completed'],
  failed: ['funded', 'processing', 'failed'],
  cancelled: ['cancelled'],
};

/** A task of alice's moved through real guarded transitions to `status`. */
async function taskIn(status: TaskStatus, owner = alice) {
  const task = await createPendingTask({ userAddress: owner, token: stack.deployment.tokens[0]!.address, quantity: 5 });
  let from: TaskStatus = 'pending_payment';
  for (const to of PATHS[status]!) {
    const set = to === 'failed' ? { errorMessage: 'boom', attempts: 5 } : {};
    expect(await transitionTask({ id: task.id, from, to, set })).toBeDefined();
    from = to;
  }
  return task;
}

describe('GET /api/ai-agent/tasks/:userAddress', () => {
  const list = (user: string, query = '', cookie?: Cookie) =>
    call(tasksGET as never, `/api/ai-agent/tasks/${user}${query}`, { userAddress: user }, { cookie });

  it('answers 401 without a session, 404 for a stranger, 200 for the owner newest first', async () => {
    const first = await taskIn('pending_payment');
    const second = await taskIn('funded');
    expect((await list(alice)).status).toBe(401);
    const stranger = await list(alice, '', cookieFor(bob));
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found:tasks');
    const own = await list(alice.toLowerCase(), '?limit=2', cookieFor(alice));
    expect(own.status).toBe(200);
    expect(own.body.tasks.map((t: { id: string }) => t.id)).toEqual([second.id, first.id]);
    const dto = own.body.tasks[0];
    for (const key of [
      'id',
      'status',
      'tokenAddress',
      'quantity',
      'pricePerMint',
      'totalCost',
      'mintsCompleted',
      'mintsFailed',
      'agentAddress',
      'fundingTxHash',
      'errorMessage',
      'createdAt',
      'startedAt',
      'completedAt',
    ]) {
      expect(dto).toHaveProperty(key);
    }
    expect(dto.totalCost).toBe('500000');
    expect((await list(alice, '?limit=1', cookieFor(alice))).body.tasks).toHaveLength(1);
  });

  it.each(['0', '101', 'abc', '1.5'])('refuses limit=%s with 400', async (limit) => {
    const { status, body } = await list(alice, `?limit=${limit}`, cookieFor(alice));
    expect(status).toBe(400);
    expect(body.error.code).toBe('bad_request:limit');
  });

  it('refuses a malformed address with 400', async () => {
    expect((await list('0x1234', '', cookieFor(alice))).status).toBe(400);
  });
});

describe('GET /api/ai-agent/task/:taskId', () => {
  const show = (id: string, cookie?: Cookie) =>
    call(taskGET as never, `/api/ai-agent/task/${id}`, { taskId: id }, { cookie });

  it('shows the owner the task with its funding request while it awaits payment', async () => {
    const task = await taskIn('pending_payment');
    expect((await show(task.id)).status).toBe(401);
    const stranger = await show(task.id, cookieFor(bob));
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found:task');
    const own = await show(task.id, cookieFor(alice));
    expect(own.status).toBe(200);
    expect(own.body.task.status).toBe('pending_payment');
    expect(own.body.task.fundingRequest.primaryType).toBe('TransferWithAuthorization');
    expect(own.body.task.fundingRequest.message.value).toBe('500000');
    expect(own.body.task.fundingRequest.message.to).toBe(own.body.task.agentAddress);
    expect(own.body.task.mints).toEqual([]);
  });

  it('drops the funding request once funded and lists the mints in sequence order', async () => {
    const task = await taskIn('processing');
    await getDb()
      .insert(aiAgentMintRecords)
      .values(
        [2, 1].map((n) => ({
          taskId: task.id,
          sequenceNumber: n,
          mintId: `0x${String(n).padStart(64, 'a')}`,
          nonce: n,
          status: 'confirmed' as const,
          txHash: `0x${String(n).padStart(64, 'b')}`,
        })),
      );
    const own = await show(task.id, cookieFor(alice));
    expect(own.body.task.fundingRequest).toBeNull();
    expect(own.body.task.mints.map((m: { sequenceNumber: number }) => m.sequenceNumber)).toEqual([1, 2]);
    expect(own.body.task.mints[0]).toEqual({
      sequenceNumber: 1,
      status: 'confirmed',
      txHash: `0x${'1'.padStart(64, 'b')}`,
    });
  });

  it('refuses a malformed id with 400 and an unknown one with 404', async () => {
    expect((await show('nope', cookieFor(alice))).status).toBe(400);
    expect((await show('00000000-0000-4000-8000-000000000000', cookieFor(alice))).status).toBe(404);
  });
});

describe('POST /api/ai-agent/task/:taskId/cancel', () => {
  const cancel = (id: string, cookie?: Cookie) =>
    call(cancelPOST as never, `/api/ai-agent/task/${id}/cancel`, { taskId: id }, { method: 'POST', cookie });

  it.each(['pending_payment', 'funded'] as const)('cancels a %s task at once', async (status) => {
    const task = await taskIn(status);
    const { status: code, body } = await cancel(task.id, cookieFor(alice));
    expect(code).toBe(200);
    expect(body.task.status).toBe('cancelled');
    expect((await getTaskById({ id: task.id }))!.completedAt).not.toBeNull();
  });

  it('asks a processing task to stop after the batch in flight', async () => {
    const task = await taskIn('processing');
    const { status, body } = await cancel(task.id, cookieFor(alice));
    expect(status).toBe(200);
    expect(body.task.status).toBe('processing');
    expect(body.task.cancelRequested).toBe(true);
    expect((await getTaskById({ id: task.id }))!.cancelRequested).toBe(true);
  });

  it.each(['completed', 'failed', 'cancelled'] as const)(
    'answers 409 naming the status for a %s task',
    async (status) => {
      const task = await taskIn(status);
      const { status: code, body } = await cancel(task.id, cookieFor(alice));
      expect(code).toBe(409);
      expect(body.error.code).toBe('conflict:task');
      expect(body.error.message).toContain(status);
      expect((await getTaskById({ id: task.id }))!.status).toBe(status);
    },
  );

  it('answers 401 without a session and 404 to a stranger, leaving the task alone', async () => {
    const task = await taskIn('pending_payment');
    expect((await cancel(task.id)).status).toBe(401);
    expect((await cancel(task.id, cookieFor(bob))).status).toBe(404);
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });
});

async function sendUsdc(to: string, amount: bigint) {
  const wallet = createWalletClient({ account: user(1), chain: getChain(), transport: http(stack.anvil.url) });
  const hash = await wallet.writeContract({
    address: stack.deployment.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [to as Address, amount],
  });
  await getPublicClient().waitForTransactionReceipt({ hash });
}

describe('POST /api/ai-agent/task/:taskId/retry', () => {
  const retry = (id: string, cookie?: Cookie) =>
    call(retryPOST as never, `/api/ai-agent/task/${id}/retry`, { taskId: id }, { method: 'POST', cookie });

  it('refuses a failed task whose USDC is no longer in the agent wallet', async () => {
    const task = await taskIn('failed');
    const { status, body } = await retry(task.id, cookieFor(alice));
    expect(status).toBe(409);
    expect(body.error.message).toMatch(/needs 500000/);
    expect((await getTaskById({ id: task.id }))!.status).toBe('failed');
  });

  it('puts a failed task back to funded with a clean slate', async () => {
    const task = await taskIn('failed');
    // Alice's other active tasks reserve part of the wallet too; send plenty.
    await sendUsdc(task.agentAddress, 20_000_000n);
    const { status, body } = await retry(task.id, cookieFor(alice));
    expect(status).toBe(200);
    expect(body.task.status).toBe('funded');
    expect(body.task.errorMessage).toBeNull();
    const row = (await getTaskById({ id: task.id }))!;
    expect(row).toMatchObject({ status: 'funded', attempts: 0, retries: 1, lockedBy: null, nextAttemptAt: null });
  });

  it.each(['pending_payment', 'funded', 'processing', 'completed', 'cancelled'] as const)(
    'answers 409 naming the status for a %s task',
    async (status) => {
      const task = await taskIn(status);
      const { status: code, body } = await retry(task.id, cookieFor(alice));
      expect(code).toBe(409);
      expect(body.error.message).toContain(status);
    },
  );

  it('answers 401 without a session and 404 to a stranger', async () => {
    const task = await taskIn('failed');
    expect((await retry(task.id)).status).toBe(401);
    expect((await retry(task.id, cookieFor(bob))).status).toBe(404);
    expect((await getTaskById({ id: task.id }))!.status).toBe('failed');
  });
});
