import { createWalletClient, erc20Abi, http, parseUnits, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNextTask } from '@/db/task-queue';
import { getTaskById, sumReservedUsdcByWallet, transitionTask } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import type { Authorization } from '@/lib/chain/eip3009';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { startMintWorker, waitForTasks } from '../worker/support';
import { authorizationFor, signAuthorization, usdcBalance } from './helpers';

// Finding 4 of the security review: a 4 USDC task was funded while `withdraw {"amount":"1"}` ran
// at the same moment; the withdrawal took USDC the task needed and the task failed at 39/40.
// Here the same race, made deterministic by holding the funding transfer in anvil's pool.

let stack: TestStack;
let worker: import('@/worker/loop').MintWorker | undefined;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      MINT_BATCH_SIZE: '10',
      MINT_INTERVAL_MS: '0',
      RECEIPT_TIMEOUT_MS: '4000',
      LEASE_MS: '3000',
      CHECK_INTERVAL_MS: '300',
    },
  });
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
}, 30_000);

const rpc = (method: string, params: unknown[] = []) =>
  fetch(stack.anvil.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  }).then((r) => r.json());
const EXTRA = parseUnits('0.5', 6);

/** A 40-mint (4 USDC) task of `index`'s user, whose agent wallet also holds 0.5 USDC that is free to withdraw. */
async function taskWithFreeUsdc(index: number) {
  const { createMintTask } = await import('@/lib/tasks/create-task');
  const account = user(index);
  const task = await createMintTask({
    userAddress: account.address,
    tokenAddress: stack.deployment.tokens[0]!.address,
    quantity: 40,
  });
  const wallet = createWalletClient({ account, chain: getChain(), transport: http(stack.anvil.url) });
  const hash = await wallet.writeContract({
    address: stack.deployment.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [task.agentAddress as Address, EXTRA],
  });
  await getPublicClient().waitForTransactionReceipt({ hash });
  const json = authorizationFor(task);
  const signature = await signAuthorization(account, json);
  const authorization: Authorization = {
    ...json,
    value: BigInt(json.value),
    validAfter: BigInt(json.validAfter),
    validBefore: BigInt(json.validBefore),
  };
  return { account, task, authorization, signature };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startWorker() {
  worker ??= await startMintWorker();
}

describe('withdraw while a task is being funded', () => {
  it('waits for the funding to finish, then takes only the USDC no task needs; the task completes all 40 mints', async () => {
    const { fundTask } = await import('@/lib/tasks/fund-task');
    const { withdrawRefundable } = await import('@/lib/wallets/withdraw');
    const { account, task, authorization, signature } = await taskWithFreeUsdc(4);

    await rpc('evm_setAutomine', [false]);
    let funding: Promise<unknown>;
    let withdrawing: Promise<{ amount: bigint }>;
    let withdrawSettled = false;
    try {
      funding = fundTask({ taskId: task.id, authorization, signature });
      // The transfer is in the pool (so the 4 USDC may land any moment) and the task still pending.
      await until(
        'the funding submission',
        async () => (await getTaskById({ id: task.id }))!.fundingSubmittedAt !== null,
      );
      await until(
        'the transfer in the pool',
        async () => Object.keys((await rpc('txpool_content')).result?.pending ?? {}).length > 0,
      );
      withdrawing = withdrawRefundable({ userAddress: account.address });
      void withdrawing.then(
        () => (withdrawSettled = true),
        () => (withdrawSettled = true),
      );
      await new Promise((r) => setTimeout(r, 500));
      // It waits for the funding transfer: nothing signed by the agent is in the pool, nothing settled.
      expect(withdrawSettled).toBe(false);
      const agent = task.agentAddress as Address;
      expect(await getPublicClient().getTransactionCount({ address: agent, blockTag: 'pending' })).toBe(
        await getPublicClient().getTransactionCount({ address: agent }),
      );
    } finally {
      await rpc('evm_mine');
      await rpc('evm_setAutomine', [true]);
    }
    await funding;
    const withdrawn = await withdrawing!;
    expect(withdrawn.amount).toBe(EXTRA);
    expect((await getTaskById({ id: task.id }))!.status).not.toBe('pending_payment');

    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(40);
  }, 90_000);

  it('a transfer still landing after the fund request gave up stays reserved until the task is funded', async () => {
    const { fundTask } = await import('@/lib/tasks/fund-task');
    const { withdrawRefundable } = await import('@/lib/wallets/withdraw');
    const { account, task, authorization, signature } = await taskWithFreeUsdc(5);

    await rpc('evm_setAutomine', [false]);
    let timedOut: unknown;
    try {
      // RECEIPT_TIMEOUT_MS is 4 s: the request answers "not confirmed yet, post again".
      timedOut = await fundTask({ taskId: task.id, authorization, signature }).catch((e: unknown) => e);
    } finally {
      await rpc('evm_mine');
      await rpc('evm_setAutomine', [true]);
    }
    expect(timedOut).toMatchObject({ code: 'unavailable:chain' });
    // The 4 USDC arrived; the task is still pending_payment (nobody posted again yet).
    expect(await usdcBalance(task.agentAddress as Address)).toBeGreaterThanOrEqual(EXTRA + 4_000_000n);
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
    expect(await sumReservedUsdcByWallet({ agentWalletId: task.agentWalletId })).toBe(4_000_000n);

    await expect(withdrawRefundable({ userAddress: account.address, amount: EXTRA + 1n })).rejects.toThrow(
      /At most 500000 can be withdrawn/,
    );
    expect((await withdrawRefundable({ userAddress: account.address })).amount).toBe(EXTRA);

    // The user posts the same authorization again: the task adopts the transfer and completes.
    await fundTask({ taskId: task.id, authorization, signature });
    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.mintsCompleted).toBe(40);
  }, 90_000);
});

describe('withdrawals hold no lock while anything is mined', () => {
  it('two at once from an agent without gas: one top-up, each waits holding nothing, the second takes only what is left', async () => {
    const { withdrawRefundable } = await import('@/lib/wallets/withdraw');
    const { getSql } = await import('@/db/client');
    const owner = user(7);
    const { task } = await taskWithFreeUsdc(7); // 0.5 USDC free (its task awaits payment), no ETH
    const agent = task.agentAddress as Address;
    const before = await usdcBalance(owner.address);
    const part = parseUnits('0.2', 6);
    const topUps = async () => {
      const [row] = await getSql()<{ n: number }[]>`
        select count(*)::int as n from agent_gas_topups where user_address = ${owner.address.toLowerCase()} and tx_hash is not null`;
      return row!.n;
    };
    await rpc('evm_setAutomine', [false]);
    let results: { amount: bigint }[];
    try {
      const both = Promise.all([
        withdrawRefundable({ userAddress: owner.address, amount: part }),
        withdrawRefundable({ userAddress: owner.address, amount: part }),
      ]);
      both.catch(() => {});
      // Nothing is mined: the first waits for the gas top-up it asked for, the second for that same top-up.
      await until('the gas top-up in the pool', async () => (await topUps()) > 0);
      await new Promise((r) => setTimeout(r, 300));
      const [locks] = await getSql()<
        { n: number }[]
      >`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
      expect(locks!.n).toBe(0);
      expect(await topUps()).toBe(1);
      await rpc('evm_setIntervalMining', [1]);
      results = await both;
    } finally {
      await rpc('evm_setIntervalMining', [0]);
      await rpc('evm_setAutomine', [true]);
    }
    expect(results.map((r) => r.amount)).toEqual([part, part]);
    expect(await topUps()).toBe(1);
    expect(await usdcBalance(owner.address)).toBe(before + 2n * part);
    expect(await usdcBalance(agent)).toBe(EXTRA - 2n * part);
  }, 60_000);
});

describe('one sender per agent wallet', () => {
  it('a worker does not claim a task while a withdrawal holds its wallet; a withdrawal refuses while a task of the wallet is processing', async () => {
    const { withWalletLock } = await import('@/lib/wallets/wallet-lock');
    const { withdrawRefundable } = await import('@/lib/wallets/withdraw');
    const { createPendingTask } = await import('../support/fixtures');
    await worker?.stop();
    worker = undefined;
    const task = await createPendingTask({
      userAddress: user(6).address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const holding = withWalletLock({ id: task.agentWalletId, agentAddress: task.agentAddress }, () => held);
    await new Promise((r) => setTimeout(r, 100));
    expect(await claimNextTask({ workerId: 'probe', leaseMs: 3000 })).toBeUndefined();
    release();
    await holding;
    const claimed = await claimNextTask({ workerId: 'probe', leaseMs: 3000 });
    expect(claimed?.id).toBe(task.id);

    await expect(withdrawRefundable({ userAddress: user(6).address })).rejects.toMatchObject({
      code: 'conflict:withdraw',
      message: expect.stringContaining('A task is minting with this wallet right now'),
    });
  }, 30_000);
});
