import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { getPublicClient } from '@/lib/chain/clients';
import { chainClients } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { authorizationFor, postFund, signAuthorization, usdcBalance } from './helpers';

// Two web processes on one database: the in-process send queue cannot help here, only the
// Postgres funding lock keeps two different authorizations for one task from both paying.

const stack = useTestStack();

function fundInChild(taskId: string, body: unknown, warmup: unknown, startAt: number) {
  return promisify(execFile)(
    'npx',
    ['tsx', 'test/funding/fund-child.ts', JSON.stringify({ taskId, body, warmup, startAt })],
    {
      env: { ...process.env, ...stack.env },
      timeout: 60_000,
    },
  ).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').pop()!) as { status: number; body: Record<string, any> });
}

describe('funding from two processes at once', () => {
  it('two authorizations for one task, posted to two processes at the same moment, pay once', async () => {
    const owner = user(2);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 6,
    });
    const firstSigned = authorizationFor(task);
    const secondSigned = authorizationFor(task);
    const [sigA, sigB] = await Promise.all([
      signAuthorization(owner, firstSigned),
      signAuthorization(owner, secondSigned),
    ]);
    const { rpc } = chainClients(stack.anvil.url);
    const before = await usdcBalance(owner.address);
    const operatorNonce = await getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' });

    // The child needs a few seconds to start; both sides fire at the same wall-clock moment.
    // Blocks every 2 s instead of on demand: each transfer waits for its receipt long enough
    // that, without the lock, the other process would check, simulate and send in the meantime.
    const startAt = Date.now() + 8_000;
    const child = fundInChild(
      task.id,
      { authorization: secondSigned, signature: sigB },
      { authorization: secondSigned, signature: sigA },
      startAt,
    );
    await new Promise((r) => setTimeout(r, startAt - Date.now() - 200));
    await rpc('evm_setAutomine', [false]);
    await rpc('evm_setIntervalMining', [2]);
    let here, there;
    try {
      [here, there] = await Promise.all([postFund(task.id, { authorization: firstSigned, signature: sigA }), child]);
    } finally {
      await rpc('evm_setIntervalMining', [0]);
      await rpc('evm_setAutomine', [true]);
    }

    expect([here.status, there.status].sort(), JSON.stringify([here.body, there.body])).toEqual([200, 409]);
    const winner = here.status === 200 ? here : there;
    const loser = here.status === 200 ? there : here;
    expect(loser.body.error.details.txHash).toBe(winner.body.txHash);
    expect(await usdcBalance(owner.address)).toBe(before - BigInt(task.totalCost));
    // The winner's transfer and its early gas top-up; the loser sent nothing.
    expect(await getPublicClient().getTransactionCount({ address: stack.operator, blockTag: 'pending' })).toBe(
      operatorNonce + 2,
    );
    expect((await getTaskById({ id: task.id }))?.fundingTxHash).toBe(winner.body.txHash);
  });
});
