import { encodeAbiParameters, encodeFunctionData, erc20Abi, keccak256, parseAbiItem, toHex, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { GuardError } from '@/lib/wallets/tx-guard';
import { getTaskById } from '@/db/tasks';
import { insertX402Payments, markX402PaymentsSent } from '@/db/x402-payments';
import { Reporter } from '@/worker/reporter';
import { markDeliveryStart, tallyDeliveries } from '@/worker/x402/delivery';
import { createLogger, setLogger } from '@/lib/log';
import { POLL_MS, windDown } from '@/worker/x402/ending';
import { signPayments } from '@/worker/x402/payment';
import { ensureSigner, x402RuntimeOf, type X402Runtime } from '@/worker/x402/runtime';
import { sendPayment } from '@/worker/x402/send';
import { createFundedX402Task, probeTerms, useX402SetupBehindLaggingNode } from './support';

// Forwarding decides from one block (found by review). An endpoint that mints to the payer sends
// the tokens to the agent, which forwards each task's to its destination (its recipient, else the
// user). The agent's balance can hold tokens of an ended task for another destination (its
// seller's late tokens), and only counting them (the Transfer logs) tells them from the user's.
// The worker read the balance at "latest" and the logs up to a block number viem may serve from
// its cache, from whichever node answered: a transfer in the balance but not in the logs was
// counted for nobody, so it looked the user's and a task for the user forwarded it to the user.
// Here the worker's own functions (a real runtime, the real seller, anvil, Postgres) read through
// a node whose logs are held at a block (test/support/lagging-node.ts) while state reads are current.
// And an ended task's late tokens, counted for it while the next task of the wallet runs, reach
// its recipient: the running task sends them on (only it is there to), else they waited in the
// agent until the ended task left the group and then looked the user's.

const WORKER = 'x402-forwarding-at-block';
const DELIVERY_TIMEOUT_MS = 10_000;

const { setup, lagging, chain } = useX402SetupBehindLaggingNode({
  // Ended tasks stay in their group (their late tokens count for them) for DELIVERY_TIMEOUT_MS,
  // longer than any case takes. A forward's receipt through a held node never comes: bounded, so
  // a wrong forward fails readably.
  env: {
    LOG_LEVEL: 'silent',
    X402_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
    RECEIPT_TIMEOUT_MS: '5000',
  },
});
const newAddress = () => privateKeyToAccount(generatePrivateKey()).address;
const tokensOf = (owner: Address) =>
  chain().readContract({ address: setup.server.tokenAddress, abi: erc20Abi, functionName: 'balanceOf', args: [owner] });

/**
 * A task of `user`'s (for `recipient` when given) buying from the local seller's GET, which mints
 * to the payer (the agent): processing and leased to this test, as a worker holds it.
 */
async function leasedTask(user: Address, recipient?: Address): Promise<X402Runtime> {
  const terms = await probeTerms(setup.server.mintUrl(), user, { method: 'GET', body: undefined, mintsToUser: false });
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 2, token: setup.server.tokenAddress });
  await getSql()`
    update ai_agent_tasks set status = 'processing', recipient = ${recipient?.toLowerCase() ?? null},
      locked_by = ${WORKER}, locked_until = now() + interval '10 minutes', started_at = now()
    where id = ${task.id}`;
  // Gas for its forwards (this chain's operator has none to top it up with).
  await chain().request({
    method: 'anvil_setBalance' as never,
    params: [task.agentAddress, `0x${(10n ** 18n).toString(16)}`] as never,
  });
  const never = new AbortController().signal;
  const rt = x402RuntimeOf((await getTaskById({ id: task.id }))!, {
    workerId: WORKER,
    reporter: new Reporter({ pretty: false }),
    drain: never,
    stop: never,
  });
  return ensureSigner(rt);
}

/** Buys the task's first mint from the seller as a turn does; returns the block its tokens reached the agent in. */
async function buyOne(rt: X402Runtime): Promise<bigint> {
  await markDeliveryStart(rt);
  const [payment] = await signPayments(rt, [{ sequenceNumber: 1, units: 1 }], 0n);
  const [id] = await insertX402Payments({
    taskId: rt.task.id,
    workerId: WORKER,
    payments: [payment!],
    limit: rt.policy.funding,
  });
  await markX402PaymentsSent({ ids: [id!] });
  const row = {
    ...payment!,
    id: id!,
    status: 'sent' as const,
    httpStatus: null,
    settlementTxHash: null,
    error: null,
    createdAt: new Date(),
    sentAt: new Date(),
  };
  const result = await sendPayment(rt, row, new AbortController().signal);
  expect(result.kind).toBe('settled');
  const arrivals = await chain().getLogs({
    address: setup.server.tokenAddress,
    event: parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'),
    args: { to: rt.policy.agent },
    fromBlock: 0n,
  });
  return arrivals.at(-1)!.blockNumber;
}

/** The task ended (its seller's tokens, if any, come later): what the worker does to it, without a turn. */
const end = (rt: X402Runtime) =>
  getSql()`update ai_agent_tasks set status = 'failed', locked_by = null, locked_until = null, updated_at = now() where id = ${rt.task.id}`;

describe('forwarding held tokens', () => {
  it("leaves an ended task's late tokens where they are while the logs lag the balance; caught up, they go to its recipient", async () => {
    const user = newAddress();
    const alice = newAddress();
    const forAlice = await leasedTask(user, alice);
    const forUser = await leasedTask(user);
    const unit = setup.server.mintAmount;

    const aliceTokensAt = await buyOne(forAlice);
    await end(forAlice);
    await buyOne(forUser);
    expect(await tokensOf(forUser.policy.agent)).toBe(2n * unit);

    // The node the worker reads logs from has not got the block alice's tokens arrived in.
    lagging.node.hold(aliceTokensAt - 1n);
    try {
      const turn = await tallyDeliveries(forUser, 1, 1).then(
        () => 'done',
        (error: Error) => error.message,
      );
      expect({ turn, user: await tokensOf(user) }).toEqual({ turn: 'done', user: 0n });
      expect(lagging.node.heldAnswers).toBeGreaterThan(0);
      expect(await tokensOf(forUser.policy.agent)).toBe(2n * unit);
    } finally {
      lagging.node.release();
    }

    // Caught up: alice's tokens count for her ended task and the running one sends them on to her;
    // the user gets its own.
    await tallyDeliveries(forUser, 1, 1);
    expect(await tokensOf(user)).toBe(unit);
    expect(await tokensOf(alice)).toBe(unit);
    expect(await tokensOf(forUser.policy.agent)).toBe(0n);
  }, 60_000);

  it("a task's first turn, before it paid anything, counts first: another task's late tokens are not the user's", async () => {
    const user = newAddress();
    const alice = newAddress();
    const forAlice = await leasedTask(user, alice);
    await buyOne(forAlice);
    await end(forAlice);
    const forUser = await leasedTask(user);

    await tallyDeliveries(forUser, 0, 0);
    expect(await tokensOf(user)).toBe(0n);
    expect(await tokensOf(alice)).toBe(setup.server.mintAmount);
    expect(await tokensOf(forUser.policy.agent)).toBe(0n);
  }, 60_000);

  it("a node whose logs lag both a counted arrival and its forward (they cancel out) forwards nothing: the ledger's transfer is missing", async () => {
    const user = newAddress();
    const alice = newAddress();
    const bob = newAddress();
    const unit = setup.server.mintAmount;
    // Tokens of a task that ended long ago, never counted: the user's, and nobody's to take.
    const old = await leasedTask(user);
    await buyOne(old);
    await end(old);
    await getSql()`update ai_agent_tasks set updated_at = now() - interval '1 hour' where id = ${old.task.id}`;
    const forAlice = await leasedTask(user, alice);
    const forBob = await leasedTask(user, bob);
    const aliceTokensAt = await buyOne(forAlice);
    await end(forAlice);
    await buyOne(forBob);

    await tallyDeliveries(forBob, 1, 1);
    expect([await tokensOf(alice), await tokensOf(bob), await tokensOf(forBob.policy.agent)]).toEqual([
      unit,
      unit,
      unit,
    ]);

    // Held before alice's tokens: her arrival and its forward, bob's and his, all out of sight.
    lagging.node.hold(aliceTokensAt - 1n);
    try {
      const turn = await tallyDeliveries(forBob, 1, 1).then(
        () => 'done',
        (error: Error) => error.message,
      );
      const [aliceHas, bobHas, agentHas] = [
        await tokensOf(alice),
        await tokensOf(bob),
        await tokensOf(forBob.policy.agent),
      ];
      expect({ turn, aliceHas, bobHas, agentHas }).toEqual({
        turn: 'done',
        aliceHas: unit,
        bobHas: unit,
        agentHas: unit,
      });
      expect(lagging.node.heldAnswers).toBeGreaterThan(0);
    } finally {
      lagging.node.release();
    }
  }, 60_000);

  it('a task does not end while the tokens it holds could not be forwarded; it ends once they are', async () => {
    const user = newAddress();
    const alice = newAddress();
    const unit = setup.server.mintAmount;
    const forUser = await leasedTask(user);
    await buyOne(forUser);
    const forAlice = await leasedTask(user, alice);
    const aliceTokensAt = await buyOne(forAlice);
    await end(forAlice);

    // The user's tokens are in the logs; alice's, which landed after, are in the balance only.
    lagging.node.hold(aliceTokensAt - 1n);
    try {
      const step = await windDown(forUser, { outcome: 'completed' });
      expect({ step, user: await tokensOf(user) }).toEqual({
        step: { waitMs: POLL_MS, outlastsCancel: true },
        user: 0n,
      });
      expect(await tokensOf(forUser.policy.agent)).toBe(2n * unit);
    } finally {
      lagging.node.release();
    }
    expect(await windDown(forUser, { outcome: 'completed' })).toEqual({ end: 'completed' });
    expect([await tokensOf(user), await tokensOf(alice), await tokensOf(forUser.policy.agent)]).toEqual([
      unit,
      unit,
      0n,
    ]);
  }, 60_000);

  it('a wallet whose tasks all send to the user forwards the whole balance, even one its Transfer logs do not explain', async () => {
    const user = newAddress();
    const forUser = await leasedTask(user);
    await buyOne(forUser);
    // A reflecting token credits holders without a Transfer log: the agent's balance (OpenZeppelin's
    // ERC20 keeps it at keccak256(holder . slot 0)) rises by 7 that no log shows.
    const slot = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [forUser.policy.agent, 0n]));
    const held = setup.server.mintAmount + 7n;
    await chain().request({
      method: 'anvil_setStorageAt' as never,
      params: [setup.server.tokenAddress, slot, toHex(held, { size: 32 })] as never,
    });
    expect(await tokensOf(forUser.policy.agent)).toBe(held);

    await tallyDeliveries(forUser, 1, 1);
    expect([await tokensOf(user), await tokensOf(forUser.policy.agent)]).toEqual([held, 0n]);
  }, 60_000);

  it('a task whose tokens stay unforwardable ends after X402_DELIVERY_TIMEOUT_MS, leaving them in the agent', async () => {
    const user = newAddress();
    const alice = newAddress();
    const bob = newAddress();
    // For bob: a task of the group sends elsewhere than the user, so the logs are read every turn.
    const forBob = await leasedTask(user, bob);
    await buyOne(forBob);
    const forAlice = await leasedTask(user, alice);
    const aliceTokensAt = await buyOne(forAlice);
    await end(forAlice);

    lagging.node.hold(aliceTokensAt - 1n);
    // Operators hear of it when the deferrals begin and when the bound passes, not every turn.
    const lines: string[] = [];
    setLogger(createLogger({ level: 'warn', destination: { write: (l: string) => lines.push(l) } }));
    try {
      for (let turn = 0; turn < 3; turn++)
        expect(await windDown(forBob, { outcome: 'completed' })).toEqual({ waitMs: POLL_MS, outlastsCancel: true });
      await new Promise((r) => setTimeout(r, DELIVERY_TIMEOUT_MS));
      expect(await windDown(forBob, { outcome: 'completed' })).toEqual({ end: 'completed' });
      const forwardLogs = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(
        forwardLogs.filter((l) => l.msg.includes('x402 token forward')).map((l) => [l.level, l.msg.split(':')[0]]),
      ).toEqual([
        [40, `x402 token forward deferred (retried each turn for up to ${DELIVERY_TIMEOUT_MS} ms)`],
        [
          50,
          `x402 token forward still deferred after ${DELIVERY_TIMEOUT_MS} ms; the tokens stay in the agent for a later turn of the wallet`,
        ],
      ]);
      const [bobHas, aliceHas, agentHas] = [
        await tokensOf(bob),
        await tokensOf(alice),
        await tokensOf(forBob.policy.agent),
      ];
      expect({ bobHas, aliceHas, agentHas }).toEqual({
        bobHas: 0n,
        aliceHas: 0n,
        agentHas: 2n * setup.server.mintAmount,
      });
    } finally {
      setLogger(undefined);
      lagging.node.release();
    }
  }, 60_000);

  it('a turn whose agent holds none of the token reads no nonce', async () => {
    const forUser = await leasedTask(newAddress());
    const before = lagging.node.callsOf('eth_getTransactionCount');
    await tallyDeliveries(forUser, 0, 0);
    expect(lagging.node.callsOf('eth_getTransactionCount') - before).toBe(0);
  }, 60_000);

  it("the guard lets a task forward where another of its wallet's tasks of the token sends its tokens, and nowhere else", async () => {
    const user = newAddress();
    const alice = newAddress();
    const bob = newAddress();
    const forAlice = await leasedTask(user, alice);
    const forUser = await leasedTask(user);
    // Another user's task for the same token, for bob: bob is a stranger to this wallet.
    await leasedTask(newAddress(), bob);
    const forward = (rt: X402Runtime, to: Address) =>
      rt.signer!.signForward(
        {
          type: 'eip1559',
          chainId: 31337,
          to: setup.server.tokenAddress,
          data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, 5n] }),
          gas: 100_000n,
          nonce: 0,
          maxFeePerGas: 1n,
          maxPriorityFeePerGas: 1n,
        },
        5n,
      );
    await expect(forward(forUser, alice)).resolves.toMatch(/^0x02/);
    await expect(forward(forAlice, user)).resolves.toMatch(/^0x02/);
    // A recipient of the wallet's that no task can still be owed tokens for (ended long ago).
    const carol = newAddress();
    const forCarol = await leasedTask(user, carol);
    await end(forCarol);
    await getSql()`update ai_agent_tasks set updated_at = now() - interval '1 day' where id = ${forCarol.task.id}`;
    for (const stranger of [bob, carol, newAddress(), setup.server.tokenAddress])
      await expect(forward(forUser, stranger), stranger).rejects.toThrow(GuardError);
  }, 60_000);
});
