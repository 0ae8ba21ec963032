import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { authorizationFor, postFund, signAuthorization } from './helpers';

// More users funding at once than the process has pool connections. A funding holds two
// connections (its lock's transaction and one for the queries inside) while it checks and
// sends, and none while its transfer is mined: once every connection was held by a funding
// waiting for a second one, the process hung; when a funding held its two across the block, a
// process confirmed at most DB_POOL_MAX / 2 fundings at once.

const stack = useTestStack({ env: { DB_POOL_MAX: '2' }, startTimeoutMs: 120_000 });

const rpc = (method: string, params: unknown[] = []) =>
  fetch(stack.anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  }).then((r) => r.json() as Promise<{ result: any }>);

async function fundingRequests(owners: ReturnType<typeof user>[], quantity: number) {
  return Promise.all(
    owners.map(async (owner) => {
      const task = await createPendingTask({
        userAddress: owner.address,
        token: stack.deployment.tokens[0]!.address,
        quantity,
      });
      const authorization = authorizationFor(task);
      return { task, body: { authorization, signature: await signAuthorization(owner, authorization) } };
    }),
  );
}

/** Every fund call answered 200, and every task is funded. */
async function expectAllFunded(
  requests: Awaited<ReturnType<typeof fundingRequests>>,
  results: Awaited<ReturnType<typeof postFund>>[],
) {
  expect(
    results.map((r) => r.status),
    JSON.stringify(results.map((r) => r.body)),
  ).toEqual(requests.map(() => 200));
  const tasks = await Promise.all(requests.map((r) => getTaskById({ id: r.task.id })));
  expect(tasks.map((t) => t!.status)).toEqual(requests.map(() => 'funded'));
}

describe('funding, more users at once than pool connections', () => {
  it('eight users on a pool of two, a block a second: every task is funded, each with its early gas top-up', async () => {
    const owners = [1, 2, 3, 4, 5, 6, 7, 8].map(user);
    const requests = await fundingRequests(owners, 10);
    await rpc('evm_setIntervalMining', [1]);
    let results;
    try {
      results = await Promise.all(requests.map((r) => postFund(r.task.id, r.body)));
    } finally {
      await rpc('evm_setIntervalMining', [0]);
      await rpc('evm_setAutomine', [true]);
    }
    await expectAllFunded(requests, results);
    const [row] = await getSql()<{ n: number }[]>`
      select count(distinct task_id)::int as n from agent_gas_topups
      where tx_hash is not null and task_id in ${getSql()(requests.map((r) => r.task.id))}`;
    expect(row!.n).toBe(owners.length);
  }, 90_000);

  it('no funding holds a connection while its transfer is mined: all eight are sent before one block, and the pool stays free', async () => {
    const owners = [1, 2, 3, 4, 5, 6, 7, 8].map(user);
    const requests = await fundingRequests(owners, 3);
    await rpc('evm_setAutomine', [false]);
    let results;
    try {
      const posting = Promise.all(requests.map((r) => postFund(r.task.id, r.body)));
      // Nothing is mined meanwhile, so a funding that kept its connections until its receipt
      // would let one other in at a time (a pool of two): here all eight transfers reach the
      // node's pool (the agents hold gas from the test before: no top-ups this time).
      const operatorPending = async () => {
        const { result } = await rpc('txpool_content');
        const byNonce = Object.entries(result.pending as Record<string, Record<string, unknown>>).find(
          ([from]) => from.toLowerCase() === stack.operator.toLowerCase(),
        )?.[1];
        return Object.keys(byNonce ?? {}).length;
      };
      const deadline = Date.now() + 20_000;
      while ((await operatorPending()) < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await operatorPending()).toBe(8);
      const asked = performance.now();
      await getSql()`select 1`;
      expect(performance.now() - asked).toBeLessThan(500);
      expect((await getTaskById({ id: requests[0]!.task.id }))!.status).toBe('pending_payment');
      await rpc('evm_mine');
      results = await posting;
    } finally {
      await rpc('evm_setAutomine', [true]);
    }
    await expectAllFunded(requests, results);
  }, 90_000);
});
