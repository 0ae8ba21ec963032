import { encodeFunctionData, erc20Abi, keccak256, maxUint256, parseEther, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import type { TaskWithAgent } from '@/db/tasks';
import { runAudit } from '@/lib/audit/run-audit';
import { BATCH_MODE, encodeBatchExecute } from '@/lib/chain/batch-calls';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { mintIdOf } from '@/lib/chain/mint-id';
import { createMintAuthorizer, encodeMintCall } from '@/lib/chain/mint-signature';
import { withdrawRefundable } from '@/lib/wallets/withdraw';
import { anvilAccount } from '@/scripts/local/anvil';
import { createPendingTask } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { startMintWorker, waitForTasks } from '../worker/support';
import {
  agentOf,
  auditUser,
  depositUsdc,
  fundTask,
  kindsOf,
  newUser,
  sendEth,
  setTaskProgress,
  startLogDroppingNode,
  startPrunedNode,
  stranger,
  waitFor,
  walletFor,
  writeConfirmedMint,
} from './support';

// Every discrepancy the funds audit can report on the contract route and the agent wallet, made
// to happen on a real stack: a chain event or a ledger change that a bug or an attack would
// produce, then the user's audit must name exactly that (kind, task, mint, transaction, amount)
// and nothing else. Each test has a user of its own. (x402: x402-detectors.test.ts.)

let stack: TestStack;
let token: Address;
let price: bigint;
const funder = anvilAccount(0);
const ran: Record<'double' | 'progress' | 'unknown', TaskWithAgent> = {} as never;

/** A pending task of `quantity` for a fresh user on the demo token. */
const newTask = (quantity: number) => createPendingTask({ userAddress: newUser(), token, quantity });

/** The agent key at work: USDC approval of the token, then a mint with a genuine mint-signer signature. */
async function mintWithAgentKey(userAddress: Address, { mintId, to }: { mintId: Hex; to: Address }) {
  const agent = await agentOf(userAddress);
  await waitFor(
    await agent.client.writeContract({
      address: getKnownContracts().usdc,
      abi: erc20Abi,
      functionName: 'approve',
      args: [token, price],
    }),
  );
  const authorizer = await createMintAuthorizer(getPublicClient(), { address: token, chainId: getChain().id });
  const signature = await authorizer.sign({ payer: agent.account.address, to, mintId });
  const hash = await agent.client.sendTransaction({ to: token, data: encodeMintCall(to, mintId, signature) });
  expect((await waitFor(hash)).status).toBe('success');
  return hash;
}

beforeAll(async () => {
  stack = await startTestStack({ env: { MINT_BATCH_SIZE: '4', CHECK_INTERVAL_MS: '200', LOG_LEVEL: 'silent' } });
  token = stack.deployment.tokens[0]!.address;
  price = await getPublicClient().readContract({ address: token, abi: paidMintTokenAbi, functionName: 'pricePerMint' });
  // Tasks a real worker runs to completion, for the tests that then go behind its back.
  for (const name of ['double', 'progress', 'unknown'] as const) {
    const task = await newTask(2);
    await fundTask(task);
    ran[name] = task;
  }
  const worker = await startMintWorker();
  try {
    const done = await waitForTasks(
      Object.values(ran).map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      60_000,
    );
    expect(done.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
  } finally {
    await worker.stop();
  }
  for (const task of Object.values(ran))
    expect((await auditUser(task.userAddress as Address)).discrepancies, 'clean before the test').toEqual([]);
}, 120_000);

afterAll(() => stack?.stop(), 30_000);

describe('the audit names each mint discrepancy', () => {
  it('ledger_mint_not_on_chain: a mint the ledger confirmed whose transaction never minted it', async () => {
    const task = await newTask(2);
    const funding = await fundTask(task);
    // A worker that took a dropped (or reverted) transaction for a confirmed mint.
    await writeConfirmedMint(task.id, 1, mintIdOf(task.id, 1), funding);
    await setTaskProgress(task.id, 1);
    const report = await auditUser(task.userAddress as Address);
    expect(kindsOf(report)).toEqual(['ledger_mint_not_on_chain']);
    expect(report.discrepancies[0]).toMatchObject({
      taskId: task.id,
      sequenceNumber: 1,
      txHash: funding,
      amount: price.toString(),
      expected: 'minted',
    });
    expect(report.discrepancies[0]!.message).toMatch(/never minted/);
    expect(report.users[0]!.mints).toMatchObject({ ledgerConfirmed: 1, onChain: 0 });
  });

  it("double_mint: the agent mints past the task's quantity", async () => {
    const task = ran.double;
    const user = task.userAddress as Address;
    await sendEth(funder, task.agentAddress as Address, parseEther('0.01'));
    await depositUsdc(task.agentAddress as Address, price);
    const hash = await mintWithAgentKey(user, { mintId: mintIdOf(task.id, 3), to: user });
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['double_mint']);
    expect(report.discrepancies[0]).toMatchObject({
      taskId: task.id,
      sequenceNumber: 3,
      txHash: hash,
      amount: price.toString(),
      expected: '2',
    });
    expect(report.users[0]!.tasks[0]).toMatchObject({ quantity: 2, confirmed: 2, minted: 2 });
  });

  it('mint_mismatch: a mint the ledger confirmed went to someone other than the user', async () => {
    const task = await newTask(1);
    await fundTask(task);
    await sendEth(funder, task.agentAddress as Address, parseEther('0.01'));
    const wrong = stranger();
    const hash = await mintWithAgentKey(task.userAddress as Address, { mintId: mintIdOf(task.id, 1), to: wrong });
    await writeConfirmedMint(task.id, 1, mintIdOf(task.id, 1), hash);
    await setTaskProgress(task.id, 1, 'completed');
    const report = await auditUser(task.userAddress as Address);
    expect(kindsOf(report)).toEqual(['mint_mismatch']);
    expect(report.discrepancies[0]).toMatchObject({ taskId: task.id, sequenceNumber: 1, txHash: hash });
    expect(report.discrepancies[0]!.message).toContain(`minted to ${wrong.toLowerCase()}, not the user`);
    expect(report.users[0]!.mints.tokensReceived).toBe('0');
  });

  it('progress_mismatch: mints_completed written wrong', async () => {
    const task = ran.progress;
    await setTaskProgress(task.id, 1);
    const report = await auditUser(task.userAddress as Address);
    expect(kindsOf(report)).toEqual(['progress_mismatch']);
    expect(report.discrepancies[0]).toMatchObject({ taskId: task.id, expected: '2', actual: '1' });
  });

  it('unknown_mint: the agent pays for a mint that belongs to none of its tasks', async () => {
    const task = ran.unknown;
    const user = task.userAddress as Address;
    await sendEth(funder, task.agentAddress as Address, parseEther('0.01'));
    await depositUsdc(task.agentAddress as Address, price);
    const mintId = keccak256(toHex('not a task of this user'));
    const hash = await mintWithAgentKey(user, { mintId, to: user });
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['unknown_mint']);
    expect(report.discrepancies[0]).toMatchObject({ txHash: hash, amount: price.toString() });
    expect(report.discrepancies[0]!.message).toContain(mintId);
  });

  it('mint_payment_mismatch: a mint batch that also pays someone else', async () => {
    const task = await newTask(1);
    await fundTask(task);
    const user = task.userAddress as Address;
    const agent = await agentOf(user);
    const skim = 400_000n;
    await depositUsdc(agent.address, skim);
    await sendEth(funder, agent.address, parseEther('0.01'));
    const mintId = mintIdOf(task.id, 1);
    const authorizer = await createMintAuthorizer(getPublicClient(), { address: token, chainId: getChain().id });
    const signature = await authorizer.sign({ payer: agent.account.address, to: user, mintId });
    const usdc = getKnownContracts().usdc;
    // One EIP-7702 batch, as the worker sends them: approve, mint, and a transfer to a stranger tucked in.
    const hash = await agent.client.sendTransaction({
      to: agent.account.address,
      data: encodeBatchExecute(
        [
          { to: usdc, data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [token, price] }) },
          { to: token, data: encodeMintCall(user, mintId, signature) },
          { to: usdc, data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [stranger(), skim] }) },
        ],
        BATCH_MODE.revertAll,
      ),
      authorizationList: [
        await agent.client.signAuthorization({ contractAddress: getKnownContracts().batchExecutor!, executor: 'self' }),
      ],
    });
    expect((await waitFor(hash)).status).toBe('success');
    await writeConfirmedMint(task.id, 1, mintId, hash);
    await setTaskProgress(task.id, 1, 'completed');
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['mint_payment_mismatch']);
    expect(report.discrepancies[0]).toMatchObject({
      taskId: task.id,
      txHash: hash,
      expected: price.toString(),
      actual: (price + skim).toString(),
      amount: skim.toString(),
    });
  });
});

describe('the audit names each funding and USDC discrepancy', () => {
  it('funding_not_on_chain (and reserve_shortfall): a task marked funded by a transaction that never reached the chain', async () => {
    const task = await newTask(2);
    const dropped = keccak256(toHex(`dropped funding of ${task.id}`));
    await setTaskProgress(task.id, 0, 'funded');
    await getSql()`update ai_agent_tasks set funding_tx_hash = ${dropped}, funded_at = now() where id = ${task.id}`;
    const report = await auditUser(task.userAddress as Address);
    expect(kindsOf(report)).toEqual(['funding_not_on_chain', 'reserve_shortfall']);
    const total = BigInt(task.totalCost).toString();
    expect(report.discrepancies.find((d) => d.kind === 'funding_not_on_chain')).toMatchObject({
      taskId: task.id,
      txHash: dropped,
      expected: total,
      actual: '0',
    });
    expect(report.discrepancies.find((d) => d.kind === 'reserve_shortfall')).toMatchObject({
      taskId: task.id,
      expected: total,
      actual: '0',
      amount: total,
    });
  });

  it('reserve_shortfall: USDC an open task needs, sent back to the user behind the reserve', async () => {
    const task = await newTask(2);
    await fundTask(task);
    const agent = await agentOf(task.userAddress as Address);
    await sendEth(funder, agent.address, parseEther('0.01'));
    // A withdrawal transaction (to the user: the guard would sign it) that ignored what the task still needs.
    await waitFor(
      await agent.client.writeContract({
        address: getKnownContracts().usdc,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [task.userAddress as Address, price],
      }),
    );
    const report = await auditUser(task.userAddress as Address);
    expect(kindsOf(report)).toEqual(['reserve_shortfall']);
    expect(report.discrepancies[0]).toMatchObject({
      taskId: task.id,
      expected: (2n * price).toString(),
      actual: price.toString(),
      amount: price.toString(),
    });
    expect(report.users[0]!.usdc).toMatchObject({ withdrawn: price.toString(), refundable: '0' });
  });

  it('funds_unbalanced: a node that loses logs (here a withdrawal) cannot pass for a clean history', async () => {
    const user = newUser();
    const { address: agent } = await agentOf(user);
    await depositUsdc(agent, 1_000_000n);
    const { txHash } = await withdrawRefundable({ userAddress: user });
    expect((await auditUser(user)).discrepancies).toEqual([]);
    const node = await startLogDroppingNode(stack.env.RPC_URL!, [txHash]);
    try {
      const report = await auditUser(user, { rpcUrl: node.url });
      expect(kindsOf(report)).toEqual(['funds_unbalanced']);
      expect(report.discrepancies[0]).toMatchObject({ expected: '1000000', actual: '0', amount: '1000000' });
    } finally {
      await node.stop();
    }
  });
});

describe('a node without the state the audit needs', () => {
  it('stops with what would work, not a raw RPC error, when the block before the range is pruned', async () => {
    const user = newUser();
    const { address: agent } = await agentOf(user);
    await depositUsdc(agent, 1_000_000n);
    const latest = await getPublicClient().getBlockNumber();
    const node = await startPrunedNode(stack.env.RPC_URL!, latest);
    try {
      const audit = runAudit({ userAddress: user, fromBlock: latest, record: false, rpcUrl: node.url });
      await expect(audit).rejects.toMatchObject({
        code: 'unavailable:audit',
        message: expect.stringMatching(/no state at block \d+.*archive node \(--rpc-url\).*--from-block/),
      });
      // From the next block (the one before it the node holds), the same node audits clean.
      await depositUsdc(agent, 1n);
      const report = await runAudit({ userAddress: user, fromBlock: latest + 1n, record: false, rpcUrl: node.url });
      expect(report.discrepancies).toEqual([]);
    } finally {
      await node.stop();
    }
  });
});

describe('the audit names what the agent key did that AgentMint never does', () => {
  it('agent_tx_unknown: an approval to an attacker, ETH out, a USDC self-transfer and a batch of foreign calls', async () => {
    const user = newUser();
    const agent = await agentOf(user);
    const usdc = getKnownContracts().usdc;
    await depositUsdc(agent.address, 2_000_000n);
    await sendEth(funder, agent.address, parseEther('0.05'));
    const attacker = stranger();
    const approve = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [attacker, maxUint256] });
    const approval = await agent.client.sendTransaction({ to: usdc, data: approve });
    const ethOut = await agent.client.sendTransaction({ to: attacker, value: parseEther('0.01') });
    const toItself = await agent.client.writeContract({
      address: usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [agent.account.address, 500_000n],
    });
    const batch = await agent.client.sendTransaction({
      to: agent.account.address,
      data: encodeBatchExecute([{ to: usdc, data: approve }], BATCH_MODE.revertAll),
      authorizationList: [
        await agent.client.signAuthorization({ contractAddress: getKnownContracts().batchExecutor!, executor: 'self' }),
      ],
    });
    for (const hash of [approval, ethOut, toItself, batch]) expect((await waitFor(hash)).status).toBe('success');
    const report = await auditUser(user);
    // Nothing left the agent in USDC: only the classification of its transactions can see these.
    expect(kindsOf(report)).toEqual(Array(4).fill('agent_tx_unknown'));
    expect(Object.fromEntries(report.discrepancies.map((d) => [d.txHash, d.amount]))).toEqual({
      [approval]: '0',
      [ethOut]: parseEther('0.01').toString(),
      [toItself]: '0',
      [batch]: '0',
    });
    expect(report.users[0]!.usdc).toMatchObject({ funded: '2000000', balance: '2000000', unexplainedOut: '0' });
  });

  it('agent_delegation_unknown: the agent key signs an EIP-7702 delegation that someone else submits', async () => {
    const user = newUser();
    const agent = await agentOf(user);
    const drainer = getKnownContracts().usdc; // any contract: whatever it is now runs the wallet
    const authorization = await agent.account.signAuthorization({
      address: drainer,
      chainId: getChain().id,
      nonce: await getPublicClient().getTransactionCount({ address: agent.address }),
    });
    const hash = await walletFor(anvilAccount(9)).sendTransaction({
      to: anvilAccount(9).address,
      authorizationList: [authorization],
    });
    expect((await waitFor(hash)).status).toBe('success');
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['agent_delegation_unknown']);
    expect(report.discrepancies[0]).toMatchObject({ actual: drainer.toLowerCase() });
  });

  it('eth_unbalanced: ETH that reaches the agent with no transaction to it (a contract self-destructing into it)', async () => {
    const user = newUser();
    const { address: agent } = await agentOf(user);
    const forced = parseEther('0.02');
    // Init code PUSH20 <agent> SELFDESTRUCT: created and destroyed in one transaction, its ETH forced into the agent.
    const hash = await walletFor(funder).sendTransaction({ data: `0x73${agent.slice(2)}ff`, value: forced });
    expect((await waitFor(hash)).status).toBe('success');
    expect(await getPublicClient().getBalance({ address: agent })).toBe(forced);
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['eth_unbalanced']);
    expect(report.discrepancies[0]).toMatchObject({
      expected: '0',
      actual: forced.toString(),
      amount: forced.toString(),
    });
  });
});
