import { parseEther, type Address, type Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById, transitionTask } from '@/db/tasks';
import { getConfig } from '@/lib/config';
import { auditCommand } from '@/lib/ops/commands';
import type { AuditReport } from '@/lib/audit/types';
import { getOperatorWalletClient, getPublicClient } from '@/lib/chain/clients';
import { ensureAgentGas } from '@/lib/wallets/gas-topup';
import { chainClients } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { createFundedTask, startMintWorker, waitForTasks } from '../worker/support';
import { authorizationFor, postFund, signAuthorization } from './helpers';

// A contract task's first gas top-up goes out with its funding transfer (lib/funding/): on a
// chain that mines every second, both land in one block, and the worker that runs the task
// finds the gas there and sends no top-up of its own. The budgets still refuse, the ledger still
// records it, and the audit still balances.

let worker: import('@/worker/loop').MintWorker | undefined;

const stack = useTestStack({
  blockTime: 1,
  env: {
    MINT_BATCH_SIZE: '4',
    CHECK_INTERVAL_MS: '200',
    LOG_LEVEL: 'silent',
    USER_MAX_TOPUP_PER_DAY_ETH: '0.2',
  },
  startTimeoutMs: 120_000,
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

const client = () => getPublicClient();
const operatorNonce = () => client().getTransactionCount({ address: stack.operator, blockTag: 'pending' });
const topUpsOf = (taskId: string) =>
  getSql()<
    { txHash: Hex | null; amountWei: string }[]
  >`select tx_hash as "txHash", amount_wei::text as "amountWei" from agent_gas_topups where task_id = ${taskId} order by id`;

async function startWorker() {
  worker = await startMintWorker();
}

async function fund(userIndex: number, quantity: number) {
  const owner = user(userIndex);
  const task = await createPendingTask({
    userAddress: owner.address,
    token: stack.deployment.tokens[0]!.address,
    quantity,
  });
  const authorization = authorizationFor(task);
  const res = await postFund(task.id, { authorization, signature: await signAuthorization(owner, authorization) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { task, txHash: res.body.txHash as Hex };
}

describe('the early gas top-up', () => {
  it("goes out in the funding transfer's block, and the worker then sends none; the audit balances", async () => {
    const { task, txHash } = await fund(5, 6);
    const agent = task.agentAddress as Address;

    const rows = await topUpsOf(task.id);
    expect(rows).toHaveLength(1);
    const topUpHash = rows[0]!.txHash!;
    expect(topUpHash).toMatch(/^0x[0-9a-f]{64}$/);
    const [funding, topUp, sent] = await Promise.all([
      client().getTransactionReceipt({ hash: txHash }),
      client().waitForTransactionReceipt({ hash: topUpHash }),
      client().getTransaction({ hash: topUpHash }),
    ]);
    expect(topUp.status).toBe('success');
    expect(topUp.blockNumber).toBe(funding.blockNumber);
    expect(sent.from.toLowerCase()).toBe(stack.operator.toLowerCase());
    expect(sent.to?.toLowerCase()).toBe(agent.toLowerCase());
    expect(sent.value).toBe(BigInt(rows[0]!.amountWei));
    // Sized from the fee it was sent with: 6 mints and the approval at 200,000 gas each, × 1.25.
    expect(sent.value).toBe(250_000n * 7n * sent.maxFeePerGas!);
    expect((await getTaskById({ id: task.id }))!.gasToppedUpWei).toBe(rows[0]!.amountWei);

    const nonceAfterFunding = await operatorNonce();
    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    // The operator sent nothing more: no top-up from the worker.
    expect(await operatorNonce()).toBe(nonceAfterFunding);
    expect(await topUpsOf(task.id)).toHaveLength(1);

    const result = await auditCommand({});
    const report = result.json as AuditReport;
    expect(report.discrepancies).toEqual([]);
    expect(result.exitCode ?? 0).toBe(0);
    const row = report.users.find((u) => u.user === user(5).address.toLowerCase())!;
    expect(row.eth.topUps).toBe(rows[0]!.amountWei);
    expect(row.eth.topUpsRecorded).toBe(rows[0]!.amountWei);
  }, 120_000);

  it('is refused by a spent daily budget: the funding goes through alone, and the worker fails the task as before', async () => {
    const victim = user(6).address;
    await getSql()`insert into agent_gas_topups (user_address, amount_wei) values (${victim.toLowerCase()}, ${parseEther('0.2').toString()})`;
    const before = await operatorNonce();
    const { task } = await fund(6, 3);
    expect(await operatorNonce()).toBe(before + 1); // the transfer only
    expect(await topUpsOf(task.id)).toHaveLength(0);
    expect((await getTaskById({ id: task.id }))!.gasToppedUpWei).toBe('0');

    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status).toBe('failed');
    expect(done!.errorMessage).toBe(
      'Your gas budget for the last 24 hours is used up (0.2 of 0.2 ETH, USER_MAX_TOPUP_PER_DAY_ETH); retry the task later.',
    );
    expect(await operatorNonce()).toBe(before + 1);
  }, 120_000);

  it('is not sent when the agent already holds the gas', async () => {
    const owner = user(7);
    const first = await fund(7, 2);
    await client().waitForTransactionReceipt({ hash: (await topUpsOf(first.task.id))[0]!.txHash! });
    // Same user, same agent wallet, which still holds the first top-up (no worker ran).
    const before = await operatorNonce();
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    const authorization = authorizationFor(task);
    const res = await postFund(task.id, { authorization, signature: await signAuthorization(owner, authorization) });
    expect(res.status).toBe(200);
    expect(await operatorNonce()).toBe(before + 1);
    expect(await topUpsOf(task.id)).toHaveLength(0);
    // Neither task is for a worker: a later test's would run them (the second on a top-up of its own).
    for (const id of [first.task.id, task.id]) await transitionTask({ id, from: 'funded', to: 'cancelled' });
  }, 60_000);

  it('is not sent with EARLY_GAS_TOPUP=false: the funding goes alone and the worker tops up when it starts', async () => {
    const config = getConfig().worker;
    config.earlyGasTopUp = false; // this process's parsed config, as the env would set it
    try {
      const before = await operatorNonce();
      const { task } = await fund(3, 2);
      expect(await operatorNonce()).toBe(before + 1);
      expect(await topUpsOf(task.id)).toHaveLength(0);
      await startWorker();
      const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
      expect(done!.status, done!.errorMessage ?? '').toBe('completed');
      expect(await operatorNonce()).toBe(before + 2);
      expect(await topUpsOf(task.id)).toHaveLength(1);
    } finally {
      config.earlyGasTopUp = true;
    }
  }, 120_000);

  it('a lost one (dropped by the node) does not hold the task up: the worker tops up itself', async () => {
    const owner = user(8);
    // Funded behind the route's back, with a ledger row for a top-up the node never mined.
    const task = await createFundedTask(stack, { userIndex: 8, quantity: 2 });
    const lost = `0x${'ab'.repeat(32)}`;
    await getSql()`insert into agent_gas_topups (user_address, task_id, amount_wei, tx_hash) values (${owner.address.toLowerCase()}, ${task.id}, ${parseEther('0.01').toString()}, ${lost})`;
    const before = await operatorNonce();

    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(await operatorNonce()).toBe(before + 1);
    expect((await topUpsOf(task.id)).map((r) => r.txHash)).toHaveLength(2);
  }, 120_000);

  it('one still in the pool is waited for, not paid twice', async () => {
    const owner = user(9);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    const agent = task.agentAddress as Address;
    const { rpc } = chainClients(stack.anvil.url);
    const before = await operatorNonce();
    await rpc('evm_setIntervalMining', [0]);
    await rpc('evm_setAutomine', [false]);
    try {
      const inPool = await getOperatorWalletClient().sendTransaction({
        to: agent,
        value: parseEther('0.01'),
        gas: 40_000n,
      });
      await getSql()`insert into agent_gas_topups (user_address, task_id, amount_wei, tx_hash) values (${owner.address.toLowerCase()}, ${task.id}, ${parseEther('0.01').toString()}, ${inPool})`;
      const waiting = ensureAgentGas({
        userAddress: owner.address,
        taskId: task.id,
        agent,
        balance: 0n,
        neededWei: parseEther('0.001'),
      });
      await new Promise((r) => setTimeout(r, 500));
      await rpc('evm_mine', []);
      expect(await waiting).toBeUndefined();
    } finally {
      await rpc('evm_setAutomine', [true]);
      await rpc('evm_setIntervalMining', [1]);
    }
    expect(await operatorNonce()).toBe(before + 1);
    expect(await client().getBalance({ address: agent })).toBe(parseEther('0.01'));
  }, 60_000);
});
