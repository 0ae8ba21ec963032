import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { getTaskById, WORKER_WAKE_CHANNEL } from '@/db/tasks';
import { getPublicClient } from '@/lib/chain/clients';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import {
  authorizationFor,
  authorizationUses,
  postFund,
  signAuthorization,
  signedPendingTask,
  usdcBalance,
} from './helpers';

const stack = useTestStack();

describe('POST /api/ai-agent/task/:taskId/fund', () => {
  it('moves exactly the total cost from the user to the agent, marks the task funded and wakes a worker', async () => {
    const owner = user(1);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 7,
    });
    const cost = BigInt(task.totalCost);
    expect(cost).toBeGreaterThan(0n);

    const listener = postgres(stack.pg.url, { max: 1 });
    const woken: string[] = [];
    await listener.listen(WORKER_WAKE_CHANNEL, (payload) => woken.push(payload));

    const userBefore = await usdcBalance(owner.address);
    const agentBefore = await usdcBalance(task.agentAddress as `0x${string}`);
    const authorization = authorizationFor(task);
    const signature = await signAuthorization(owner, authorization);

    const res = await postFund(task.id, { authorization, signature });
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(res.body.task.status).toBe('funded');
    expect(res.body.task.fundingTxHash).toBe(res.body.txHash);

    expect(await usdcBalance(owner.address)).toBe(userBefore - cost);
    expect(await usdcBalance(task.agentAddress as `0x${string}`)).toBe(agentBefore + cost);

    const receipt = await getPublicClient().getTransactionReceipt({ hash: res.body.txHash });
    expect(receipt.status).toBe('success');
    expect(receipt.from.toLowerCase()).toBe(stack.operator.toLowerCase());
    expect(await authorizationUses(getPublicClient(), owner.address, authorization.nonce)).toHaveLength(1);

    const row = await getTaskById({ id: task.id });
    expect(row?.status).toBe('funded');
    expect(row?.fundingTxHash).toBe(res.body.txHash);
    expect(row?.fundingNonce).toBe(authorization.nonce.toLowerCase());
    expect(row?.fundedAt).toBeInstanceOf(Date);
    expect(row?.fundingAuthorization).toMatchObject({
      authorization: {
        from: owner.address.toLowerCase(),
        value: task.totalCost,
        nonce: authorization.nonce.toLowerCase(),
      },
      signature,
    });

    await expect.poll(() => woken, { timeout: 5000 }).toContain(task.id);
    await listener.end();

    // Posting the same authorization again is a replay: same txHash, no second transfer.
    const again = await postFund(task.id, { authorization, signature });
    expect(again.status).toBe(200);
    expect(again.body.txHash).toBe(res.body.txHash);
    expect(await usdcBalance(owner.address)).toBe(userBefore - cost);
  });

  it('accepts numeric validAfter/validBefore and a v of 0/1', async () => {
    const owner = user(2);
    const { task, authorization, signature } = await signedPendingTask(owner, stack.deployment.tokens[1]!.address, 2);
    const v = Number.parseInt(signature.slice(130), 16) - 27;
    const lowV = `${signature.slice(0, 130)}0${v}`;
    const before = await usdcBalance(owner.address);
    const res = await postFund(task.id, {
      authorization: { ...authorization, validAfter: 0, validBefore: Number(authorization.validBefore) },
      signature: lowV,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));
  });

  // Last: it stops this file's chain.
  it('answers 503 unavailable:chain, not 500, when the chain is down, and changes nothing', async () => {
    const owner = user(3);
    const { task, authorization, signature } = await signedPendingTask(owner, stack.deployment.tokens[0]!.address, 1);
    await stack.anvil.stop();
    const res = await postFund(task.id, { authorization, signature });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable:chain');
    expect(res.body.error.message).toMatch(/nothing was sent/);
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|fetch failed/);
    const row = await getTaskById({ id: task.id });
    expect(row?.status).toBe('pending_payment');
    expect(row?.fundingTxHash).toBeNull();
  });
});
