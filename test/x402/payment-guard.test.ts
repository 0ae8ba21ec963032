import { encodeFunctionData, erc20Abi, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import type { X402Terms } from '@/db/schema';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from '@/lib/chain/eip3009';
import { GuardError } from '@/lib/wallets/tx-guard';
import {
  authorizationLifetime,
  checkTokenForward,
  checkX402Payment,
  createX402Signer,
  type X402Policy,
} from '@/lib/wallets/payment-guard';
import { assignInPaymentOrder } from '@/worker/x402/delivery';
import { forwardableAmount, forwardsOf } from '@/worker/x402/forwarding';

// The x402 payment guard (pure): the lifetime cap, the token it never forwards and where a forward
// may go; the rule that hands token transfers to tasks in payment order (worker/x402/delivery.ts)
// and what of the agent's balance a task may forward (worker/x402/forwarding.ts).

const agent = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const user = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address;
const usdc = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address;
const token = '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0' as Address;
const payTo = '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9' as Address;

const terms = (over: Partial<X402Terms['requirement']> = {}, authorizationSeconds?: number): X402Terms => ({
  url: 'https://seller.example/mint',
  method: 'POST',
  mintsToUser: false,
  version: 2,
  requirement: {
    scheme: 'exact',
    network: 'eip155:31337',
    asset: usdc,
    amount: '10000',
    payTo,
    maxTimeoutSeconds: 315_360_000,
    ...over,
  },
  ...(authorizationSeconds === undefined ? {} : { authorizationSeconds }),
  domain: { name: 'USD Coin', version: '2' },
});

const policyOf = (t: X402Terms, tokenBought: Address = token): X402Policy => ({
  agent: agent.address,
  user,
  token: tokenBought,
  terms: t,
  funding: 100_000n,
  maxLifetimeSeconds: authorizationLifetime(t, 180),
});

const now = () => Math.floor(Date.now() / 1000);
const payment = (validFor: number) => ({
  asset: usdc,
  authorization: {
    from: agent.address,
    to: payTo,
    value: '10000',
    validAfter: String(now() - 600),
    validBefore: String(now() + validFor),
    nonce: `0x${'11'.repeat(32)}`,
  },
});

describe('x402 payment guard', () => {
  it('caps an authorization’s lifetime at X402_MAX_AUTHORIZATION_SECONDS, whatever the seller asks', () => {
    const tenYears = terms();
    expect(authorizationLifetime(tenYears, 180)).toBe(180);
    expect(authorizationLifetime(terms({ maxTimeoutSeconds: 60 }), 180)).toBe(60);
    expect(authorizationLifetime(terms({}, 30), 180)).toBe(30);
    const policy = policyOf(tenYears);
    expect(() => checkX402Payment(policy, payment(180), { live: 0n })).not.toThrow();
    expect(() => checkX402Payment(policy, payment(600), { live: 0n })).toThrow(/longer than 180 s/);
    expect(() => checkX402Payment(policy, payment(315_360_000), { live: 0n })).toThrow(GuardError);
  });

  it('the signer the x402 client uses refuses a ten-year authorization before signing', async () => {
    const signer = createX402Signer(agent, policyOf(terms()));
    const sign = (validFor: number) =>
      signer.paymentAccount.signTypedData({
        domain: { name: 'USD Coin', version: '2', chainId: 31337, verifyingContract: usdc },
        types: TRANSFER_WITH_AUTHORIZATION_TYPES,
        primaryType: 'TransferWithAuthorization',
        message: payment(validFor).authorization,
      } as never);
    await expect(Promise.resolve().then(() => sign(315_360_000))).rejects.toThrow(GuardError);
    await expect(sign(120)).resolves.toMatch(/^0x/);
  });

  it('a payment buys units × the probed price, never more than mintsPerPayment mints, never a fraction', () => {
    const paying = (value: bigint, units?: number) => ({
      ...payment(60),
      authorization: { ...payment(60).authorization, value: value.toString() },
      ...(units === undefined ? {} : { units }),
    });
    const scaling = {
      ...terms(),
      body: { quantity: 1, recipient: user },
      mintsPerPayment: { max: 10, reason: 'scales' as const, field: 'quantity' },
    };
    const bulk = policyOf(scaling);
    const check = (policy: X402Policy, value: bigint, units?: number) => () =>
      checkX402Payment(policy, paying(value, units), { live: 0n });
    expect(check(bulk, 100_000n, 10)).not.toThrow();
    expect(check(bulk, 40_000n, 4)).not.toThrow();
    expect(check(bulk, 40_000n)).not.toThrow();
    expect(check(bulk, 110_000n, 11)).toThrow(/1 to 10 per payment/);
    expect(check(bulk, 110_000n)).toThrow(/1 to 10 per payment/);
    expect(check(bulk, 100_001n)).toThrow(GuardError);
    // The ledger row says 4 mints: the value must be exactly 4 × the price.
    expect(check(bulk, 50_000n, 4)).toThrow(/the probed price of 4 mint\(s\) is 40000/);
    // A task probed without it (or a seller whose price does not scale): one mint per payment.
    const single = policyOf(terms());
    expect(check(single, 10_000n)).not.toThrow();
    expect(check(single, 20_000n)).toThrow(/1 to 1 per payment/);
    expect(check(single, 20_000n, 2)).toThrow(GuardError);
    // Terms whose request cannot say how many (no quantity field in the body, or GET): one per payment.
    expect(check(policyOf({ ...scaling, method: 'GET', body: undefined }), 20_000n)).toThrow(/1 to 1 per payment/);
    expect(check(policyOf({ ...scaling, body: { recipient: user } }), 20_000n)).toThrow(/1 to 1 per payment/);
    // Within the funding (100_000 here) all the same.
    expect(() => checkX402Payment(bulk, paying(100_000n, 10), { live: 10_000n })).toThrow(/exceed the task's funding/);
  });

  it('never forwards the payment asset as the task’s token', () => {
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [user, 5n] });
    expect(() => checkTokenForward(policyOf(terms()), { to: token, data }, 5n)).not.toThrow();
    expect(() => checkTokenForward(policyOf(terms(), usdc), { to: usdc, data }, 5n)).toThrow(
      /payment asset is never forwarded/,
    );
  });

  it('forwards only to the task’s recipient when an x402 sale named one, else only to the user: never to any other address', async () => {
    const recipient = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address;
    const third = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' as Address;
    const forwardTo = (to: Address) => encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, 5n] });
    const forSale: X402Policy = { ...policyOf(terms()), recipient };
    const forUser = policyOf(terms());

    expect(() => checkTokenForward(forSale, { to: token, data: forwardTo(recipient) }, 5n)).not.toThrow();
    for (const other of [user, third, agent.address, payTo])
      expect(() => checkTokenForward(forSale, { to: token, data: forwardTo(other) }, 5n), other).toThrow(
        /forwarded tokens must go to the task's recipient/,
      );
    expect(() => checkTokenForward(forUser, { to: token, data: forwardTo(user) }, 5n)).not.toThrow();
    for (const other of [recipient, third, payTo])
      expect(() => checkTokenForward(forUser, { to: token, data: forwardTo(other) }, 5n), other).toThrow(
        /forwarded tokens must go to the user/,
      );

    // Where the wallet's other tasks of this token send theirs may be named too (the database says).
    expect(() =>
      checkTokenForward(forSale, { to: token, data: forwardTo(third) }, 5n, [third.toLowerCase()]),
    ).not.toThrow();

    // The signer the worker forwards with refuses before signing anything.
    const signer = createX402Signer(agent, forSale, async () => []);
    const tx = (to: Address) =>
      ({
        type: 'eip1559',
        chainId: 31337,
        to: token,
        data: forwardTo(to),
        gas: 100_000n,
        nonce: 0,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      }) as const;
    await expect(Promise.resolve().then(() => signer.signForward(tx(third), 5n))).rejects.toThrow(GuardError);
    await expect(Promise.resolve().then(() => signer.signForward(tx(user), 5n))).rejects.toThrow(GuardError);
    await expect(signer.signForward(tx(recipient), 5n)).resolves.toMatch(/^0x02/);
  });
});

describe('deliveries in payment order', () => {
  const log = (block: number, amount: bigint, i = 0) => ({
    txHash: `0x${block.toString(16).padStart(64, '0')}`,
    logIndex: i,
    blockNumber: BigInt(block),
    amount,
  });
  const candidate = (taskId: string, fromBlock: number, paid: number, arrived = 0n, unit: bigint | null = null) => ({
    taskId,
    status: 'processing',
    fromBlock: BigInt(fromBlock),
    unit,
    paid,
    arrived,
  });

  it('late tokens of an ended task count for it, not for the next task of the same user and token', () => {
    // A paid 2 mints (100 each), was counted one, and ended; B started at block 20 and paid 1.
    const cancelledPayment = { ...candidate('A', 10, 2, 100n, 100n), status: 'cancelled' };
    const livePayment = candidate('B', 20, 1);
    const { assignments } = assignInPaymentOrder([cancelledPayment, livePayment], [log(21, 100n), log(22, 100n)]);
    expect(assignments.map((x) => [x.taskId, Number(x.log.blockNumber)])).toEqual([
      ['A', 21],
      ['B', 22],
    ]);
  });

  it('a task is counted no more than it paid for, and nothing from before its first payment', () => {
    const livePayment = candidate('B', 20, 1);
    const { assignments, after } = assignInPaymentOrder([livePayment], [log(19, 100n), log(21, 100n), log(22, 100n)]);
    expect(assignments.map((x) => Number(x.log.blockNumber))).toEqual([21]);
    expect(after[0]).toMatchObject({ arrived: 100n, unit: 100n });
  });
});

describe('what a task forwards of the agent’s balance', () => {
  const r1 = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address;
  const r2 = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' as Address;
  const owed = (entries: Array<[Address, bigint]>) => new Map(entries.map(([a, n]) => [a.toLowerCase(), n]));

  it('a task for a recipient forwards only what is owed to it, never tokens counted for another destination', () => {
    // Task A (for r1) was counted 100 that arrived late, while task B (for r2) runs and was counted 200.
    const late = owed([
      [r1, 100n],
      [r2, 200n],
    ]);
    expect(forwardableAmount({ balance: 300n, destination: r2, user, owed: late })).toBe(200n);
    expect(forwardableAmount({ balance: 300n, destination: r1, user, owed: late })).toBe(100n);
    // Tokens counted for no task (500 − 300) are the user's, not a recipient's.
    expect(forwardableAmount({ balance: 500n, destination: r2, user, owed: late })).toBe(200n);
    expect(forwardableAmount({ balance: 500n, destination: r2, user, owed: owed([]) })).toBe(0n);
  });

  it('a turn sends every other destination what is owed to it, then its own share, never more than the balance', () => {
    const late = owed([
      [r1, 100n],
      [r2, 200n],
    ]);
    expect(forwardsOf({ balance: 500n, destination: user, user, owed: late })).toEqual([
      { to: r1.toLowerCase(), amount: 100n },
      { to: r2.toLowerCase(), amount: 200n },
      { to: user.toLowerCase(), amount: 200n },
    ]);
    expect(forwardsOf({ balance: 500n, destination: r2, user, owed: late })).toEqual([
      { to: r1.toLowerCase(), amount: 100n },
      { to: r2.toLowerCase(), amount: 200n },
    ]);
    expect(forwardsOf({ balance: 150n, destination: r2, user, owed: late })).toEqual([
      { to: r1.toLowerCase(), amount: 100n },
      { to: r2.toLowerCase(), amount: 50n },
    ]);
  });

  it('a task for the user forwards everything but what is owed to recipients', () => {
    expect(forwardableAmount({ balance: 500n, destination: user, user, owed: owed([]) })).toBe(500n);
    expect(forwardableAmount({ balance: 500n, destination: user, user, owed: owed([[r1, 100n]]) })).toBe(400n);
    expect(forwardableAmount({ balance: 50n, destination: user, user, owed: owed([[r1, 100n]]) })).toBe(0n);
  });
});
