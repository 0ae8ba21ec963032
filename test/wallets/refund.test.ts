import { createWalletClient, erc20Abi, http, toHex, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { withUserFundingLock } from '@/db/task-funding';
import { getTaskById } from '@/db/tasks';
import { getWalletByUser } from '@/db/wallets';
import { runAudit } from '@/lib/audit/run-audit';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { getUsdcBalance } from '@/lib/chain/usdc';
import { getConfig } from '@/lib/config';
import { cancelTask } from '@/lib/tasks/cancel-task';
import { refundLeftover } from '@/lib/wallets/refund';
import { refundToUser } from '@/lib/wallets/withdraw';
import { anvilAccount } from '@/scripts/local/anvil';
import { chainClients } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { markTaskFunded, waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, useX402Setup } from '../x402/support';

// What a task did not spend goes back to its user on its own: a real worker runs contract and
// x402 tasks on anvil and Postgres, and once a task ends its wallet's refundable USDC arrives at
// the user's address, by the withdraw route's code. Counted on chain: the user's USDC and the
// agent's Transfer events to the user (never two for one leftover).

const EXTRA = 250_000n; // 0.25 USDC the task did not spend
const client = () => getPublicClient();

const setup = useX402Setup({
  env: { MINT_BATCH_SIZE: '3', CHECK_INTERVAL_MS: '200', LOG_LEVEL: 'silent' },
  workerId: 'refund-test',
});

/**
 * A contract task funded by the user's transfer of its cost, with `extra` sent to the agent
 * beside it (what the task will not spend); funded now, or held back by a backoff.
 */
async function fundContractTask(
  account: ReturnType<typeof user>,
  { quantity, extra = 0n, hold = false }: { quantity: number; extra?: bigint; hold?: boolean },
) {
  const task = await createPendingTask({
    userAddress: account.address,
    token: setup.stack.deployment.tokens[0]!.address,
    quantity,
  });
  const wallet = createWalletClient({ account, chain: getChain(), transport: http(setup.stack.env.RPC_URL) });
  const hash = await wallet.writeContract({
    address: setup.stack.deployment.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [task.agentAddress as Address, BigInt(task.totalCost)],
  });
  await client().waitForTransactionReceipt({ hash });
  if (extra > 0n) {
    const more = await wallet.writeContract({
      address: setup.stack.deployment.usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [task.agentAddress as Address, extra],
    });
    await client().waitForTransactionReceipt({ hash: more });
  }
  if (hold) await getSql()`update ai_agent_tasks set next_attempt_at = now() + interval '1 hour' where id = ${task.id}`;
  await markTaskFunded(task.id, hash);
  return task;
}

const refundState = async (taskId: string) => {
  const [row] = await getSql()<{ checkedAt: Date | null; txHash: string | null }[]>`
    select refund_checked_at as "checkedAt", refund_tx_hash as "txHash" from ai_agent_tasks where id = ${taskId}`;
  return row!;
};

async function waitForRefundChecked(taskId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await refundState(taskId);
    if (state.checkedAt) return state;
    if (Date.now() > deadline) throw new Error(`task ${taskId} not refunded in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** USDC transfers the agent sent its user, on chain. */
const refundsOnChain = async (agent: Address, to: Address) =>
  (
    await client().getContractEvents({
      address: getKnownContracts().usdc,
      abi: erc20Abi,
      eventName: 'Transfer',
      args: { from: agent, to },
      fromBlock: 0n,
    })
  ).map((e) => ({ value: e.args.value!, txHash: e.transactionHash as Hex }));

describe('an ended task’s unspent USDC goes back to its user', () => {
  it('completed with a leftover: the leftover arrives at the user’s address, once, and the audit explains it', async () => {
    const owner = user(1);
    const task = await fundContractTask(owner, { quantity: 2, extra: EXTRA });
    const before = await getUsdcBalance(owner.address);
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    const { txHash } = await waitForRefundChecked(task.id);

    const agent = task.agentAddress as Address;
    expect(await getUsdcBalance(owner.address)).toBe(before + EXTRA);
    expect(await getUsdcBalance(agent)).toBe(0n);
    expect(await refundsOnChain(agent, owner.address)).toEqual([{ value: EXTRA, txHash }]);
    const report = await runAudit({ userAddress: owner.address, fromBlock: 0n, record: false });
    expect(report.discrepancies).toEqual([]);
  }, 90_000);

  it('cancelled before it ran: all of it back; a refund sent by a process killed before recording it is not sent again', async () => {
    const owner = user(2);
    const task = await fundContractTask(owner, { quantity: 3, hold: true });
    const wallet = (await getWalletByUser({ userAddress: owner.address }))!;
    const agent = task.agentAddress as Address;
    const before = await getUsdcBalance(owner.address);
    await cancelTask({ taskId: task.id, userAddress: owner.address });
    // Three refunders at once beside the worker's tick: one sends as a process killed right after
    // its send would (refundToUser marks nothing), two run the worker's whole refund.
    const outcomes = await Promise.all([
      refundToUser(wallet, { lockWaitMs: 15_000 }),
      refundLeftover(wallet),
      refundLeftover(wallet),
    ]);
    await waitForRefundChecked(task.id);
    expect(await getUsdcBalance(owner.address)).toBe(before + BigInt(task.totalCost));
    const sent = await refundsOnChain(agent, owner.address);
    expect(sent.map((s) => s.value)).toEqual([BigInt(task.totalCost)]);
    expect(outcomes.filter((o) => 'txHash' in o && o.txHash).length).toBeLessThanOrEqual(1);
    // A later look finds nothing to send.
    expect(await refundLeftover(wallet)).toMatchObject({ refunded: false, final: true });
    expect(await refundsOnChain(agent, owner.address)).toHaveLength(1);
  }, 90_000);

  it('AUTO_REFUND=false: the leftover stays in the agent wallet', async () => {
    const config = getConfig().worker;
    config.autoRefund = false; // this process's parsed config, as AUTO_REFUND=false would set it
    try {
      const owner = user(3);
      const task = await fundContractTask(owner, { quantity: 2, extra: EXTRA });
      const before = await getUsdcBalance(owner.address);
      const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
      expect(done!.status, done!.errorMessage ?? '').toBe('completed');
      expect((await waitForRefundChecked(task.id)).txHash).toBeNull();
      expect(await getUsdcBalance(task.agentAddress as Address)).toBe(EXTRA);
      expect(await getUsdcBalance(owner.address)).toBe(before);
      expect(await refundsOnChain(task.agentAddress as Address, owner.address)).toEqual([]);
    } finally {
      config.autoRefund = true;
    }
  }, 90_000);

  it('two tasks of one user, one minting: nothing moves while it runs; then only what the ended one left, never the queued one’s', async () => {
    const owner = user(4);
    // B mints on another worker (its lease is live); A, queued behind it, is cancelled by its user.
    const b = await fundContractTask(owner, { quantity: 2, hold: true });
    await getSql()`
      update ai_agent_tasks set status = 'processing', locked_by = 'elsewhere', locked_until = now() + interval '1 hour',
        started_at = now() where id = ${b.id}`;
    const a = await fundContractTask(owner, { quantity: 2, extra: EXTRA, hold: true });
    const agent = a.agentAddress as Address;
    const wallet = (await getWalletByUser({ userAddress: owner.address }))!;
    const before = await getUsdcBalance(owner.address);
    await cancelTask({ taskId: a.id, userAddress: owner.address });
    // Several of the worker's ticks, and a refund asked directly: refused while B mints (its nonces).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await refundLeftover(wallet)).toMatchObject({ refunded: false, final: false });
    expect(await getUsdcBalance(agent)).toBe(BigInt(a.totalCost) + BigInt(b.totalCost) + EXTRA);
    expect(await getUsdcBalance(owner.address)).toBe(before);
    expect((await refundState(a.id)).checkedAt).toBeNull();

    // B is given back to the queue (funded, waiting): A's money goes back, B's stays for B.
    await getSql()`
      update ai_agent_tasks set status = 'funded', locked_by = null, locked_until = null where id = ${b.id}`;
    expect(await refundLeftover(wallet)).toMatchObject({
      refunded: true,
      amount: BigInt(a.totalCost) + EXTRA,
      final: true,
    });
    expect(await getUsdcBalance(agent)).toBe(BigInt(b.totalCost));
    expect(await getUsdcBalance(owner.address)).toBe(before + BigInt(a.totalCost) + EXTRA);

    // B cancelled too: the worker's tick sends the rest.
    await cancelTask({ taskId: b.id, userAddress: owner.address });
    await waitForRefundChecked(b.id);
    expect(await getUsdcBalance(agent)).toBe(0n);
    expect(await getUsdcBalance(owner.address)).toBe(before + BigInt(a.totalCost) + BigInt(b.totalCost) + EXTRA);
  }, 90_000);

  it('a failed task keeps what a retry needs; the rest goes back', async () => {
    const owner = user(5);
    const failed = await fundContractTask(owner, { quantity: 3, hold: true });
    await getSql()`update ai_agent_tasks set status = 'failed', error_message = 'test' where id = ${failed.id}`;
    const done = await fundContractTask(owner, { quantity: 2, extra: EXTRA });
    const before = await getUsdcBalance(owner.address);
    const [finished] = await waitForTasks([done.id], ['completed'], 60_000);
    expect(finished!.status).toBe('completed');
    await waitForRefundChecked(done.id);
    expect(await getUsdcBalance(owner.address)).toBe(before + EXTRA);
    expect(await getUsdcBalance(done.agentAddress as Address)).toBe(BigInt(failed.totalCost));
  }, 90_000);

  it('a task that fails while the refund waits for the locks keeps what its retry needs', async () => {
    const owner = user(6);
    // B mints on another worker; A, ended, left EXTRA. The refund waits on the user's funding
    // lock (held here, as a fund call would), and B fails meanwhile: under the locks B is no
    // longer reserved as active, so only what failed tasks keep, read there too, holds its money.
    // C, funded and queued, keeps the worker's own refund tick away from this wallet.
    const b = await fundContractTask(owner, { quantity: 2, hold: true });
    await getSql()`
      update ai_agent_tasks set status = 'processing', locked_by = 'elsewhere', locked_until = now() + interval '1 hour',
        started_at = now() where id = ${b.id}`;
    const c = await fundContractTask(owner, { quantity: 1, hold: true });
    const a = await fundContractTask(owner, { quantity: 1, extra: EXTRA, hold: true });
    await getSql()`update ai_agent_tasks set status = 'cancelled', completed_at = now() where id = ${a.id}`;
    const wallet = (await getWalletByUser({ userAddress: owner.address }))!;
    const before = await getUsdcBalance(owner.address);
    let refund: ReturnType<typeof refundLeftover> | undefined;
    await withUserFundingLock(
      owner.address,
      async () => {
        refund = refundLeftover(wallet);
        await new Promise((r) => setTimeout(r, 300)); // it has read what it reads before the locks
        await getSql()`
          update ai_agent_tasks set status = 'failed', error_message = 'test', locked_by = null, locked_until = null
          where id = ${b.id}`;
      },
      { waitMs: 5_000 },
    );
    expect(await refund).toMatchObject({ refunded: true, amount: BigInt(a.totalCost) + EXTRA });
    expect(await getUsdcBalance(a.agentAddress as Address)).toBe(BigInt(b.totalCost) + BigInt(c.totalCost));
    expect(await getUsdcBalance(owner.address)).toBe(before + BigInt(a.totalCost) + EXTRA);
  }, 90_000);

  // Last: it moves the chain's clock an hour ahead.
  it('x402: what a live authorization of the ended task could still move stays until it expires by chain time', async () => {
    const userAddress = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(setup.server.mintUrl(), userAddress);
    const task = await createFundedX402Task({ userAddress, terms, quantity: 1, token: setup.server.tokenAddress });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    await waitForRefundChecked(task.id);

    // The ended task holds one authorization the seller may still settle (delivered, not yet
    // settled), valid for an hour of chain time; the wallet holds its amount and a leftover.
    const wallet = (await getWalletByUser({ userAddress }))!;
    const agent = wallet.agentAddress as Address;
    const price = BigInt(terms.requirement.amount);
    const owner = createWalletClient({
      account: anvilAccount(0),
      chain: getChain(),
      transport: http(setup.stack.env.RPC_URL),
    });
    const minted = await owner.writeContract({
      address: getKnownContracts().usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [agent, price + EXTRA],
    });
    await client().waitForTransactionReceipt({ hash: minted });
    const chainNow = (await client().getBlock()).timestamp;
    const validBefore = chainNow + 3600n;
    const nonce = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const authorization = {
      from: agent,
      to: terms.requirement.payTo,
      value: price.toString(),
      validAfter: '0',
      validBefore: validBefore.toString(),
      nonce,
    };
    await getSql()`
      insert into ai_agent_x402_payments (task_id, sequence_number, nonce, "authorization", signature, amount, pay_to, valid_before, status)
      values (${task.id}, 99, ${nonce}, ${JSON.stringify(authorization)}::jsonb, '0x', ${price.toString()}::numeric,
        ${terms.requirement.payTo.toLowerCase()}, to_timestamp(${Number(validBefore)}), 'sent')`;
    await getSql()`update ai_agent_tasks set refund_checked_at = null where id = ${task.id}`;

    const wait = async (cond: () => Promise<boolean>) => {
      const deadline = Date.now() + 20_000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // The leftover goes back; the authorization's amount stays while the chain could accept it.
    await wait(async () => (await getUsdcBalance(userAddress)) === EXTRA);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await getUsdcBalance(agent)).toBe(price);
    expect((await refundState(task.id)).checkedAt).toBeNull();

    // The chain's clock passes validBefore (the database's does not): it can never move money, and the rest goes back.
    const { rpc } = chainClients(setup.stack.anvil.url);
    await rpc('evm_increaseTime', [3700]);
    await rpc('evm_mine', []);
    await waitForRefundChecked(task.id);
    expect(await getUsdcBalance(userAddress)).toBe(EXTRA + price);
    expect(await getUsdcBalance(agent)).toBe(0n);
    const [row] = await getSql()<
      { status: string }[]
    >`select status from ai_agent_x402_payments where nonce = ${nonce}`;
    expect(row!.status).toBe('expired');
    expect(await getTaskById({ id: task.id })).toMatchObject({ status: 'completed' });
  }, 90_000);
});
