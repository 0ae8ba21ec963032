import { formatEther, keccak256, parseEther, toHex, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { releaseGasTopUp, reserveGasTopUp } from '@/db/gas-topups';
import { transitionTask } from '@/db/tasks';
import { getWalletByUser } from '@/db/wallets';
import { formatAudit } from '@/lib/audit/format';
import { runAudit } from '@/lib/audit/run-audit';
import type { AuditReport } from '@/lib/audit/types';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { getConfig } from '@/lib/config';
import { readEarlyTopUpInputs, releaseEarlyTopUp, reserveEarlyTopUp } from '@/lib/funding/early-top-up';
import { walletsCommand } from '@/lib/ops/wallets-command';
import { contractBatchGasWei } from '@/lib/wallets/gas-topup';
import { sweepAgentEth } from '@/lib/wallets/sweep';
import { anvilAccount } from '@/scripts/local/anvil';
import { sendEth } from '../audit/support';
import { chainClients } from '../contracts/chain-helpers';
import { authorizationFor, postFund, signAuthorization } from '../funding/helpers';
import { createPendingTask, user } from '../support/fixtures';
import { awaitSweep, createFundedTask, sweepsOf, waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, startX402Setup, type X402Setup } from '../x402/support';

// The operator's ETH comes back: a real worker runs a contract task (EIP-7702 batched, and one
// transaction per mint) and an x402 task whose endpoint mints to the payer (the agent forwards),
// each topped up by size, and once the task ends the worker sweeps what the agent did not burn
// back to the operator. After each, the agent holds at most the floor plus one sweep's gas, the
// sweep went to the operator, and the audit balances with the sweep on its ETH line. The floor is
// 0.00001 ETH here so that even the small x402 top-up is worth sweeping on anvil's 1 gwei fees.

const FLOOR = parseEther('0.00001');
let setup: X402Setup;
const client = () => getPublicClient();

beforeAll(async () => {
  setup = await startX402Setup({
    env: {
      MINT_BATCH_SIZE: '3',
      MINT_EXECUTION: 'batch',
      CHECK_INTERVAL_MS: '200',
      LOG_LEVEL: 'silent',
      AGENT_MIN_ETH: formatEther(FLOOR),
    },
    workerId: 'sweep-test',
  });
}, 120_000);
afterAll(() => setup?.stop(), 30_000);

const topUpsOf = (taskId: string) =>
  getSql()<
    { amountWei: string }[]
  >`select amount_wei::text as "amountWei" from agent_gas_topups where task_id = ${taskId}`;

const auditOf = (userAddress: string) => runAudit({ userAddress, fromBlock: 0n, record: false });

/**
 * A finished task's wallet after its sweep: the figures, and every claim of the issue checked.
 * `fixedTopUpLeft` is what the agent would hold under the old fixed 0.01 ETH top-up and no sweep.
 */
async function expectSwept(kind: string, task: { id: string; agentWalletId: string; userAddress: string }) {
  const agent = (await getWalletByUser({ userAddress: task.userAddress }))!.agentAddress as Address;
  const sweep = await awaitSweep(task.agentWalletId);
  const [sent, receipt, balance] = await Promise.all([
    client().getTransaction({ hash: sweep.txHash }),
    client().getTransactionReceipt({ hash: sweep.txHash }),
    client().getBalance({ address: agent }),
  ]);
  expect(sent.from.toLowerCase()).toBe(agent.toLowerCase());
  expect(sent.to?.toLowerCase()).toBe(setup.stack.operator.toLowerCase());
  expect(sent.input).toBe('0x');
  expect(sent.value).toBe(BigInt(sweep.amountWei));
  expect(receipt.status).toBe('success');
  expect(BigInt(sweep.gasCostWei!)).toBe(receipt.gasUsed * receipt.effectiveGasPrice);
  // The floor stays; of the sweep's gas budget only what it did not burn is left over.
  expect(balance).toBeGreaterThanOrEqual(FLOOR);
  expect(balance).toBeLessThanOrEqual(FLOOR + BigInt(sweep.maxGasWei));

  const report: AuditReport = await auditOf(task.userAddress);
  expect(report.discrepancies).toEqual([]);
  const eth = report.users[0]!.eth;
  expect(eth.swept).toBe(sweep.amountWei);
  expect(eth.balance).toBe(balance.toString());
  expect(report.eth.parked).toBe(balance.toString());
  expect(formatAudit(report)).toMatch(/operator ETH in agent wallets: [\d.]+ parked in 1 of 1 wallet/);

  const toppedUp = (await topUpsOf(task.id)).reduce((a, r) => a + BigInt(r.amountWei), 0n);
  const burnt = BigInt(eth.gasSpent) - receipt.gasUsed * receipt.effectiveGasPrice;
  const fixedTopUpLeft = parseEther('0.01') - burnt;
  console.info(
    `[sweep] ${kind}: topped up ${formatEther(toppedUp)} ETH, task burnt ${formatEther(burnt)}, ` +
      `swept back ${formatEther(BigInt(sweep.amountWei))} for ${receipt.gasUsed} gas (${formatEther(BigInt(sweep.gasCostWei!))} ETH), ` +
      `left ${formatEther(balance)} ETH; a fixed 0.01 ETH top-up would have left ${formatEther(fixedTopUpLeft)}`,
  );
  return { agent, sweep, balance, toppedUp, burnt };
}

/** A new user's agent wallet with one pending task and `eth` from anvil's first account: idle, with ETH to sweep. */
async function idleAgentHolding(eth: bigint) {
  const owner = privateKeyToAccount(generatePrivateKey());
  const task = await createPendingTask({
    userAddress: owner.address,
    token: setup.stack.deployment.tokens[0]!.address,
    quantity: 1,
  });
  const agent = task.agentAddress as Address;
  await sendEth(anvilAccount(0), agent, eth);
  const agentWallet = (await getWalletByUser({ userAddress: owner.address }))!;
  return { owner, agent, agentWallet };
}

describe('gas top-ups sized from the fee, and the sweep back to the operator', () => {
  it('contract, EIP-7702 batched (funded through the fund route): the delegated agent sweeps its unburnt gas back', async () => {
    const owner = user(1);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: setup.stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    const authorization = authorizationFor(task);
    const res = await postFund(task.id, { authorization, signature: await signAuthorization(owner, authorization) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');

    const { agent, toppedUp } = await expectSwept('contract batched, 3 mints', done!);
    // A plain transfer from an EOA with code: the agent is still delegated to the executor.
    const code = await client().getCode({ address: agent });
    expect(code?.toLowerCase()).toBe(`0xef0100${getKnownContracts().batchExecutor!.slice(2).toLowerCase()}`);
    expect(toppedUp).toBeLessThan(parseEther('0.01'));
  }, 120_000);

  it('contract, one transaction per mint: the same', async () => {
    const config = getConfig().worker;
    config.execution = 'single'; // this process's parsed config, as MINT_EXECUTION=single would set it
    try {
      const task = await createFundedTask(setup.stack, { userIndex: 2, quantity: 3 });
      const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
      expect(done!.status, done!.errorMessage ?? '').toBe('completed');
      const { agent } = await expectSwept('contract single, 3 mints', done!);
      expect(await client().getCode({ address: agent })).toBeUndefined();
    } finally {
      config.execution = 'batch';
    }
  }, 120_000);

  it('x402, an endpoint that mints to the payer: one top-up for the forwards of every batch, and the rest swept back', async () => {
    const userAddress = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(setup.server.mintUrl(), userAddress, {
      method: 'GET',
      body: undefined,
      mintsToUser: false,
    });
    const task = await createFundedX402Task({ userAddress, terms, quantity: 7, token: setup.server.tokenAddress });
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    const { agent } = await expectSwept('x402 forwarding, 7 mints', done!);
    // The agent sent a forward after each batch (the first batch is 1 mint until tokens arrive, then
    // 3), then the sweep: several forwards, all on the one top-up.
    expect(await client().getTransactionCount({ address: agent })).toBeGreaterThanOrEqual(3);
    expect(await topUpsOf(task.id)).toHaveLength(1);
  }, 120_000);

  it("a confirmed sweep counts back against the user's daily gas budget", async () => {
    const userAddress = user(1).address.toLowerCase();
    const [net] = await getSql()<{ topUps: string; swept: string }[]>`
      select (select sum(amount_wei) from agent_gas_topups where user_address = ${userAddress})::text as "topUps",
        (select sum(amount_wei) from agent_eth_sweeps where user_address = ${userAddress} and status = 'confirmed')::text as swept`;
    const dayCapWei = parseEther('0.2');
    const reserved = await reserveGasTopUp({
      userAddress,
      amountWei: dayCapWei,
      minWei: 1n,
      taskCapWei: 0n,
      dayCapWei,
    });
    expect(reserved.ok).toBe(true);
    if (!reserved.ok) return;
    expect(reserved.amountWei).toBe(dayCapWei - (BigInt(net!.topUps) - BigInt(net!.swept)));
    await releaseGasTopUp({ id: reserved.id, amountWei: reserved.amountWei });
  });

  it('never sweeps a wallet whose task is funded; the tick sweeps an idle one the worker did not', async () => {
    const owner = user(3);
    const task = await createPendingTask({
      userAddress: owner.address,
      token: setup.stack.deployment.tokens[0]!.address,
      quantity: 2,
    });
    const agent = task.agentAddress as Address;
    await sendEth(anvilAccount(0), agent, parseEther('0.003'));
    // Funded, held back from the worker by a backoff: the wallet is not idle.
    await getSql()`update ai_agent_tasks set next_attempt_at = now() + interval '1 hour' where id = ${task.id}`;
    await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded', set: { fundedAt: new Date() } });
    const agentWallet = (await getWalletByUser({ userAddress: owner.address }))!;
    expect(await sweepAgentEth(agentWallet)).toEqual({
      swept: false,
      reason: 'a task of the wallet is funded or running',
    });
    expect(await client().getBalance({ address: agent })).toBe(parseEther('0.003'));

    // The task is cancelled before any worker ran it: its gas is parked, and the wallet is marked.
    await transitionTask({ id: task.id, from: 'funded', to: 'cancelled' });
    await getSql()`update ai_agent_wallets set eth_sweep_due_at = now() - interval '2 minutes' where id = ${agentWallet.id}`;
    const sweep = await awaitSweep(agentWallet.id);
    expect(BigInt(sweep.amountWei)).toBe(parseEther('0.003') - FLOOR - BigInt(sweep.maxGasWei));
    const [marked] = await getSql()<{ due: Date | null }[]>`
      select eth_sweep_due_at as due from ai_agent_wallets where id = ${agentWallet.id}`;
    expect(marked!.due).toBeNull();
    // What is left is the floor and the unburnt part of the sweep's gas: not worth another sweep.
    const left = await client().getBalance({ address: agent });
    expect(await sweepAgentEth(agentWallet)).toMatchObject({ swept: false, reason: /not worth a sweep/ });
    expect(await client().getBalance({ address: agent })).toBe(left);
    expect(await sweepsOf(agentWallet.id)).toHaveLength(1);

    const { json } = await walletsCommand({ limit: 100 });
    const listed = json as { wallets: { agentAddress: string; ethWei: string; sweptWei: string }[]; parkedWei: string };
    const row = listed.wallets.find((w) => w.agentAddress.toLowerCase() === agent.toLowerCase())!;
    expect(row.sweptWei).toBe(sweep.amountWei);
    expect(row.ethWei).toBe((await client().getBalance({ address: agent })).toString());
    const balances = await Promise.all(
      listed.wallets.map((w) => client().getBalance({ address: w.agentAddress as Address })),
    );
    expect(listed.parkedWei).toBe(balances.reduce((a, b) => a + b, 0n).toString());
  }, 60_000);

  it('never sweeps while a gas top-up to the agent is on its way', async () => {
    const { rpc } = chainClients(setup.stack.anvil.url);
    const { owner, agent, agentWallet } = await idleAgentHolding(parseEther('0.003'));
    await rpc('evm_setAutomine', [false]);
    try {
      await rpc('eth_sendTransaction', [
        { from: anvilAccount(1).address, to: agent, value: `0x${parseEther('0.001').toString(16)}` },
      ]);
      expect(await sweepAgentEth(agentWallet)).toEqual({ swept: false, reason: 'a gas top-up is on its way' });
    } finally {
      await rpc('evm_setAutomine', [true]);
      await rpc('evm_mine', []);
    }
    expect(await client().getBalance({ address: agent })).toBe(parseEther('0.004'));
    expect(await sweepsOf(agentWallet.id)).toHaveLength(0);
    // Mined, the wallet is idle again: all of it but the floor and the sweep's gas goes back.
    const swept = await sweepAgentEth(agentWallet);
    expect(swept).toMatchObject({ swept: true, confirmed: true });
    if (swept.swept) expect(swept.amountWei).toBe(parseEther('0.004') - FLOOR - swept.maxGasWei);
  }, 60_000);

  it('a sweep whose receipt its sender never waited for (a drained worker) is recorded by the next sweep of the wallet', async () => {
    const { owner, agent, agentWallet } = await idleAgentHolding(parseEther('0.003'));
    const drained = new AbortController();
    drained.abort();
    const first = await sweepAgentEth(agentWallet, { signal: drained.signal });
    expect(first).toMatchObject({ swept: true, confirmed: false });
    expect((await sweepsOf(agentWallet.id)).map((s) => s.status)).toEqual(['sent']);
    // A sweep recorded and never broadcast (a kill in between) whose nonce the agent has used since.
    const [ghost] = await getSql()<{ id: string }[]>`
      insert into agent_eth_sweeps (agent_wallet_id, user_address, amount_wei, max_gas_wei, nonce, tx_hash)
      values (${agentWallet.id}, ${owner.address.toLowerCase()}, 1, 1, 0, ${keccak256(toHex('never sent'))})
      returning id::text`;

    expect(await sweepAgentEth(agentWallet)).toMatchObject({ swept: false, reason: /not worth a sweep/ });
    const receipt = await client().getTransactionReceipt({ hash: first.swept ? first.txHash : '0x' });
    const rows = await sweepsOf(agentWallet.id);
    expect(rows.map((s) => s.status)).toEqual(['confirmed', 'failed']);
    expect(BigInt(rows[0]!.gasCostWei!)).toBe(receipt.gasUsed * receipt.effectiveGasPrice);
    expect(rows[1]!.gasCostWei).toBeNull();
    expect(ghost).toBeDefined();
  }, 60_000);

  it('sizes a top-up from the fee: the task’s gas × the max fee × 1.25, cut to AGENT_TOPUP_ETH but never below the next batch', async () => {
    const { rpc } = chainClients(setup.stack.anvil.url);
    const task = await createPendingTask({
      userAddress: privateKeyToAccount(generatePrivateKey()).address,
      token: setup.stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    const config = getConfig().worker;
    const sizeAt = async (baseFeeWei: bigint, capEth = '0.01') => {
      config.agentTopupEth = capEth; // this process's parsed config, as AGENT_TOPUP_ETH would set it
      try {
        await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${baseFeeWei.toString(16)}`]);
        await rpc('evm_mine', []);
        const inputs = (await readEarlyTopUpInputs(task))!;
        expect(inputs.baseFee).toBe(baseFeeWei);
        const reserved = (await reserveEarlyTopUp(task, inputs))!;
        await releaseEarlyTopUp(reserved);
        // The next batch (3 mints and the approval) at MINT_GAS_ESTIMATE, 200,000 gas each.
        const neededWei = contractBatchGasWei({ batchMints: 3, remaining: 3, maxFeePerGas: inputs.maxFeePerGas });
        return { amount: reserved.amountWei, maxFee: inputs.maxFeePerGas, neededWei };
      } finally {
        config.agentTopupEth = '0.01';
      }
    };
    // Under the cap: 3 mints and the approval × 1.25, i.e. 250,000 gas × 4 at the max fee.
    const low = await sizeAt(1_000_000_000n);
    const mid = await sizeAt(3_000_000_000n);
    expect(low.amount).toBe(250_000n * 4n * low.maxFee);
    expect(mid.amount).toBe(250_000n * 4n * mid.maxFee);
    expect(mid.amount * low.maxFee).toBe(low.amount * mid.maxFee);
    // A cap below the task's gas cuts the top-up to it...
    const capped = await sizeAt(1_000_000_000n, formatEther(low.neededWei + 1_000n));
    expect(capped.amount).toBe(low.neededWei + 1_000n);
    // ...but never below what the next batch needs (then the cap is exceeded rather than the batch stalled).
    const high = await sizeAt(10_000_000_000n);
    expect(high.neededWei).toBeGreaterThan(parseEther('0.01'));
    expect(high.amount).toBe(high.neededWei);
    console.info(
      `[sweep] early top-up of a 3-mint task: ${formatEther(low.amount)} ETH at a 1 gwei base fee, ` +
        `${formatEther(mid.amount)} at 3 gwei, ${formatEther(high.amount)} at 10 gwei (the next batch's need, over the 0.01 cap; a fixed 0.01 before)`,
    );
    await rpc('anvil_setNextBlockBaseFeePerGas', ['0x3b9aca00']);
    await rpc('evm_mine', []);
  }, 60_000);
});
