import { describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { chainClients, mined } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import {
  authorizationFor,
  authorizationUses,
  frontRunAuthorization,
  postFund,
  signAuthorization,
  signedPendingTask,
  usdcBalance,
} from './helpers';

const stack = useTestStack();

const operatorNonce = () => getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' });

describe('fund route under races', () => {
  it('ten concurrent posts of one authorization move USDC once and all report the same transaction', async () => {
    const owner = user(4);
    const { task, authorization, signature } = await signedPendingTask(owner, stack.deployment.tokens[0]!.address, 9);
    const [userBefore, agentBefore, nonceBefore] = await Promise.all([
      usdcBalance(owner.address),
      usdcBalance(task.agentAddress as `0x${string}`),
      operatorNonce(),
    ]);

    const results = await Promise.all(
      Array.from({ length: 10 }, () => postFund(task.id, { authorization, signature })),
    );

    const uses = await authorizationUses(getPublicClient(), owner.address, authorization.nonce);
    expect(uses).toHaveLength(1);
    const txHash = uses[0]!.transactionHash;
    for (const r of results) {
      if (r.status === 200) expect(r.body.txHash).toBe(txHash);
      else {
        expect(r.status, JSON.stringify(r.body)).toBe(409);
        expect(r.body.error.details.txHash).toBe(txHash);
      }
    }
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    // One transfer and one early gas top-up for the agent (lib/funding/), whoever won the race.
    expect(await operatorNonce()).toBe(nonceBefore + 2);
    expect(await usdcBalance(owner.address)).toBe(userBefore - BigInt(task.totalCost));
    expect(await usdcBalance(task.agentAddress as `0x${string}`)).toBe(agentBefore + BigInt(task.totalCost));
    expect((await getTaskById({ id: task.id }))?.fundingTxHash).toBe(txHash);
  });

  it('two different authorizations for one task at once: one transfer, the other is told the task is already funded', async () => {
    const owner = user(5);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[1]!.address,
      quantity: 4,
    });
    const firstSigned = authorizationFor(task);
    const secondSigned = authorizationFor(task);
    const before = await usdcBalance(owner.address);
    const [ra, rb] = await Promise.all([
      signAuthorization(owner, firstSigned).then((signature) =>
        postFund(task.id, { authorization: firstSigned, signature }),
      ),
      signAuthorization(owner, secondSigned).then((signature) =>
        postFund(task.id, { authorization: secondSigned, signature }),
      ),
    ]);
    const statuses = [ra.status, rb.status].sort();
    expect(statuses).toEqual([200, 409]);
    const winner = ra.status === 200 ? ra : rb;
    const loser = ra.status === 200 ? rb : ra;
    expect(loser.body.error.message).toMatch(/already funded/);
    expect(loser.body.error.details.txHash).toBe(winner.body.txHash);
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));
    const used = await Promise.all(
      [firstSigned, secondSigned].map((x) =>
        getPublicClient().readContract({
          address: getKnownContracts().usdc,
          abi: testUSDCAbi,
          functionName: 'authorizationState',
          args: [owner.address, x.nonce],
        }),
      ),
    );
    expect(used.filter(Boolean)).toHaveLength(1);
  });

  it('adopts a transfer someone else submitted first (front-running) instead of failing', async () => {
    const owner = user(6);
    const frontRunner = user(7);
    const { task, authorization, signature } = await signedPendingTask(owner, stack.deployment.tokens[0]!.address, 3);
    const before = await usdcBalance(owner.address);

    const frontRunHash = await frontRunAuthorization(stack.anvil.url, frontRunner, authorization, signature);
    await mined(getPublicClient(), frontRunHash);
    const nonceBefore = await operatorNonce();

    const res = await postFund(task.id, { authorization, signature });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.txHash).toBe(frontRunHash);
    expect(res.body.task.status).toBe('funded');
    expect(await operatorNonce()).toBe(nonceBefore);
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));
    const row = await getTaskById({ id: task.id });
    expect(row?.status).toBe('funded');
    expect(row?.fundingTxHash).toBe(frontRunHash);
  });

  it('a front-run still in the mempool gets a 409 to retry; once mined, the task is funded from it', async () => {
    const owner = user(8);
    const { task, authorization, signature } = await signedPendingTask(owner, stack.deployment.tokens[1]!.address, 2);
    const { rpc } = chainClients(stack.anvil.url);
    const before = await usdcBalance(owner.address);
    await rpc('evm_setAutomine', [false]);
    let pendingHash: `0x${string}`;
    try {
      pendingHash = await frontRunAuthorization(stack.anvil.url, user(9), authorization, signature, 200_000n);
      const waiting = await postFund(task.id, { authorization, signature });
      expect(waiting.status, JSON.stringify(waiting.body)).toBe(409);
      expect(waiting.body.error.message).toMatch(/waiting to be mined/);
      expect((await getTaskById({ id: task.id }))?.status).toBe('pending_payment');
    } finally {
      await rpc('evm_setAutomine', [true]);
    }
    await rpc('evm_mine');
    await mined(getPublicClient(), pendingHash!);
    const res = await postFund(task.id, { authorization, signature });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.txHash).toBe(pendingHash!);
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));
  });
});
