import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { GET as taskGET } from '@/app/api/ai-agent/task/[taskId]/route';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { listX402ClaimsByTask, listX402ClaimsByUser } from '@/db/x402-claims';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { getWalletView } from '@/lib/wallets/wallet-view';
import { call, cookieFor } from '../support/routes';
import { waitForTasks } from '../worker/support';
import { balanceOf, createFundedX402Task, ledgerVsChain, probeTerms, useX402Setup } from './support';

// Delivery proven before money follows (issue 22, third row and "what to build" 2): a seller's
// 200 proves nothing until the tokens are with the user. A task completes when they are; a
// seller that takes a payment and delivers nothing is stopped at that one payment with a claim.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_DELIVERY_TIMEOUT_MS: '4000',
  },
  // The seed's upstream shape: 200 "queued", the tokens minted to the recipient 1.5 s later.
  server: { queueDelayMs: 1500 },
  workerId: 'x402-delivery',
});

const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for each task to leave processing, reading the user's token balance the moment it does. */
async function balancesAtEnd(user: Address, ids: string[], timeoutMs = 40_000) {
  const at = new Map<string, { status: string; balance: bigint }>();
  const deadline = Date.now() + timeoutMs;
  while (at.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (at.has(id)) continue;
      const task = await getTaskById({ id });
      if (task && ['completed', 'failed', 'cancelled'].includes(task.status))
        at.set(id, { status: task.status, balance: await balanceOf(setup.server.tokenAddress, user) });
    }
    await sleep(50);
  }
  return at;
}

const deliveriesOf = (taskId: string) =>
  getSql()<{ txHash: string; logIndex: number; amount: string }[]>`
    select tx_hash as "txHash", log_index as "logIndex", amount::text from ai_agent_x402_deliveries where task_id = ${taskId}`;

describe('delivery before completion', () => {
  it('200 = queued, tokens 1.5 s later: completed only once the user holds every token', async () => {
    const user = newUser();
    const terms = await probeTerms(setup.server.mintUrl('queued'), user);
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 5,
      token: setup.server.tokenAddress,
    });
    const end = (await balancesAtEnd(user, [task.id])).get(task.id)!;
    expect(end.status).toBe('completed');
    expect(end.balance).toBe(5n * setup.server.mintAmount);
    const check = await ledgerVsChain(task.id, setup.server);
    expect(check.settled).toHaveLength(5);
    expect(check.chain.count).toBe(5);
    expect(await deliveriesOf(task.id)).toHaveLength(5);
  });

  it('two tasks of one user for one token: each counts its own deliveries, none counts a transfer twice', async () => {
    const user = newUser();
    const terms = await probeTerms(setup.server.mintUrl('queued'), user);
    const firstTask = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 3,
      token: setup.server.tokenAddress,
    });
    const secondTask = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 4,
      token: setup.server.tokenAddress,
    });
    const ends = await balancesAtEnd(user, [firstTask.id, secondTask.id], 60_000);
    expect([ends.get(firstTask.id)?.status, ends.get(secondTask.id)?.status]).toEqual(['completed', 'completed']);
    const [da, db] = [await deliveriesOf(firstTask.id), await deliveriesOf(secondTask.id)];
    expect([da.length, db.length]).toEqual([3, 4]);
    const keys = new Set([...da, ...db].map((d) => `${d.txHash}:${d.logIndex}`));
    expect(keys.size).toBe(7);
    expect([...da, ...db].reduce((s, d) => s + BigInt(d.amount), 0n)).toBe(7n * setup.server.mintAmount);
    expect(await balanceOf(setup.server.tokenAddress, user)).toBe(7n * setup.server.mintAmount);
  });
});

describe('a seller that takes the money and delivers nothing', () => {
  it('is paid once; the task stops with a claim the task JSON shows, and the rest is refundable', async () => {
    const user = newUser();
    const terms = await probeTerms(setup.server.mintUrl('take-and-run'), user);
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 10,
      token: setup.server.tokenAddress,
    });
    const [done] = await waitForTasks([task.id], ['failed', 'completed'], 30_000);
    expect(done!.status).toBe('failed');
    expect(done!.errorMessage).toMatch(/tokens did not arrive within 4 s .*claim is recorded/);
    expect(done!.mintsCompleted).toBe(0);
    expect(done!.mintsFailed).toBe(1);

    // One payment left the agent, and it is the claim's.
    const check = await ledgerVsChain(task.id, setup.server);
    expect(check.chain.count).toBe(1);
    const claims = await listX402ClaimsByTask({ taskId: task.id });
    expect(claims).toHaveLength(1);
    const [claim] = claims;
    expect(claim).toMatchObject({
      paymentId: check.settled[0]!.id,
      sequenceNumber: 1,
      amount: terms.requirement.amount,
      payTo: setup.server.payTo.toLowerCase(),
      arrivedAmount: '0',
      expectedAmount: null,
      status: 'open',
      httpStatus: 200,
    });
    expect(check.chain.txHashes.has(claim!.settlementTxHash as `0x${string}`)).toBe(true);
    expect(claim!.sellerAnswer).toContain('Payment settled');
    expect((await listX402ClaimsByUser({ userAddress: user })).map((c) => c.id)).toEqual([claim!.id]);

    const res = await call(taskGET, `/api/ai-agent/task/${task.id}`, { taskId: task.id }, { cookie: cookieFor(user) });
    expect(res.status).toBe(200);
    expect(res.body.task.claims).toEqual([
      expect.objectContaining({
        paymentId: claim!.paymentId,
        settlementTxHash: claim!.settlementTxHash,
        amount: terms.requirement.amount,
        arrivedAmount: '0',
        status: 'open',
      }),
    ]);
    const view = await getWalletView(user);
    expect(view.refundableUsdc).toBe((BigInt(task.totalCost) - BigInt(terms.requirement.amount)).toString());
  });
});

describe('what the ledger keeps of an answer', () => {
  it('a 50 kB answer to a paid request is stored as a bounded excerpt', async () => {
    const user = newUser();
    const terms = await probeTerms(setup.server.mintUrl('verbose'), user);
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 2,
      token: setup.server.tokenAddress,
    });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 30_000);
    expect(done!.status).toBe('completed');
    const rows = await getSql()<{ kind: string; length: number }[]>`
      select jsonb_typeof(response) as kind, length(response #>> '{}') as length
      from ai_agent_x402_payments where task_id = ${task.id} and status = 'settled'`;
    expect(rows).toHaveLength(2);
    // Too long for JSON: the first 1,000 characters of the text and an ellipsis.
    for (const r of rows) expect([r.kind, r.length]).toEqual(['string', 1001]);
    expect((await listX402PaymentsByTask({ taskId: task.id })).every((r) => r.status === 'settled')).toBe(true);
  });
});
