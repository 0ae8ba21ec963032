import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { authorizationFor, postFund, signAuthorization } from './helpers';

// More users funding at once than the process has pool connections. Each funding holds its
// lock's connection while its transfer is mined and needs another for the queries inside; once
// every connection was held by a funding waiting for a second one, the process hung.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ blockTime: 1, env: { DB_POOL_MAX: '4' } });
}, 120_000);
afterAll(async () => stack?.stop(), 30_000);

describe('funding, more users at once than pool connections', () => {
  it('eight users on a pool of four: every task is funded, each with its early gas top-up', async () => {
    const owners = [1, 2, 3, 4, 5, 6, 7, 8].map(user);
    const requests = await Promise.all(
      owners.map(async (owner) => {
        const task = await createPendingTask({
          userAddress: owner.address,
          token: stack.deployment.tokens[0]!.address,
          quantity: 10,
        });
        const authorization = authorizationFor(task);
        return { task, body: { authorization, signature: await signAuthorization(owner, authorization) } };
      }),
    );
    const results = await Promise.all(requests.map((r) => postFund(r.task.id, r.body)));
    expect(
      results.map((r) => r.status),
      JSON.stringify(results.map((r) => r.body)),
    ).toEqual(owners.map(() => 200));
    const tasks = await Promise.all(requests.map((r) => getTaskById({ id: r.task.id })));
    expect(tasks.map((t) => t!.status)).toEqual(owners.map(() => 'funded'));
    const [row] = await getSql()<
      { n: number }[]
    >`select count(distinct task_id)::int as n from agent_gas_topups where tx_hash is not null`;
    expect(row!.n).toBe(owners.length);
  }, 90_000);
});
