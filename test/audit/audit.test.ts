import { execFile } from 'node:child_process';
import path from 'node:path';
import { createWalletClient, encodeFunctionData, erc20Abi, http, parseUnits, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLastAuditRun } from '@/db/audit';
import { getSql } from '@/db/client';
import { getWalletByUser } from '@/db/wallets';
import { chunkedLogs } from '@/lib/audit/chain-facts';
import { classifyAgentTx } from '@/lib/audit/compare-eth';
import { encodeBatchExecute, type BatchCall } from '@/lib/chain/batch-calls';
import { auditCommand, UsageError } from '@/lib/ops/commands';
import type { AuditReport } from '@/lib/audit/types';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { withdrawRefundable } from '@/lib/wallets/withdraw';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { createFundedTask, startMintWorker, waitForTasks } from '../worker/support';

// The funds audit on a real stack: three tasks minted by a real worker, a deposit withdrawn,
// then money moved behind AgentMint's back (the agent's key used directly) and a ledger row
// edited in SQL: each must be reported as exactly what it is, with exit 1. Every other kind is
// made to happen in detectors.test.ts (contract route, agent wallet) and x402-detectors.test.ts.

let stack: TestStack;
let worker: import('@/worker/loop').MintWorker | undefined;
const alice = user(3);
const bob = user(4);
const tasks: Record<string, Awaited<ReturnType<typeof createFundedTask>>> = {};

/** In this process: the command's JSON and exit code without a tsx start (~10 s on a busy machine). */
async function auditHere(options: Parameters<typeof auditCommand>[0] = {}) {
  const result = await auditCommand(options);
  return { code: result.exitCode ?? 0, report: result.json as AuditReport };
}

/** As an operator runs it: `npm run ops -- audit --json`. */
function audit(...args: string[]): Promise<{ code: number; report: AuditReport; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      path.resolve('node_modules/.bin/tsx'),
      ['scripts/ops.ts', 'audit', '--json', ...args],
      { env: { ...process.env, ...stack.env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          report: JSON.parse(stdout || 'null'),
          stderr,
        }),
    );
  });
}

const send = (account: ReturnType<typeof user>, to: Address, value: bigint) =>
  createWalletClient({ account, chain: getChain(), transport: http(stack.env.RPC_URL) })
    .writeContract({ address: stack.deployment.usdc, abi: erc20Abi, functionName: 'transfer', args: [to, value] })
    .then((hash) => getPublicClient().waitForTransactionReceipt({ hash }));

beforeAll(async () => {
  stack = await startTestStack({ env: { MINT_BATCH_SIZE: '4', CHECK_INTERVAL_MS: '200', LOG_LEVEL: 'silent' } });
  worker = await startMintWorker();
  tasks.a1 = await createFundedTask(stack, { userIndex: 3, quantity: 6 });
  tasks.a2 = await createFundedTask(stack, { userIndex: 3, quantity: 3 });
  tasks.b1 = await createFundedTask(stack, { userIndex: 4, quantity: 5 });
  const done = await waitForTasks(
    Object.values(tasks).map((t) => t.id),
    ['completed', 'failed', 'cancelled'],
    60_000,
  );
  expect(done.map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
  await worker.stop();
  // Alice sends her agent 1 USDC more than her tasks needed, and withdraws it.
  await send(alice, tasks.a1!.agentAddress as Address, parseUnits('1', 6));
  await withdrawRefundable({ userAddress: alice.address });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
}, 30_000);

describe('npm run ops -- audit', () => {
  it('reports 0 discrepancies after real tasks and a withdrawal, with every figure, and stores the run', async () => {
    const { code, report, stderr } = await audit();
    expect(report?.discrepancies ?? stderr, stderr).toEqual([]);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.fromBlockSource).toMatch(/first funding transaction/);
    const token = stack.deployment.tokens[0]!.address;
    const [price, amount] = await Promise.all(
      ['pricePerMint', 'mintAmount'].map((f) =>
        getPublicClient().readContract({ address: token, abi: paidMintTokenAbi, functionName: f as 'mintAmount' }),
      ),
    );
    const aliceLine = report.users.find((u) => u.user === alice.address.toLowerCase())!;
    expect(aliceLine.usdc).toMatchObject({
      funded: String(price! * 9n + 1_000_000n),
      mintsPaid: String(price! * 9n),
      withdrawn: '1000000',
      balance: '0',
      reserved: '0',
      unexplainedOut: '0',
    });
    expect(aliceLine.mints).toMatchObject({ ledgerConfirmed: 9, onChain: 9, tokensReceived: String(amount! * 9n) });
    expect(BigInt(aliceLine.eth.topUps)).toBeGreaterThan(0n);
    // Mints (one transaction per batch where the agent delegates, EIP-7702), approvals and the withdrawal.
    expect(aliceLine.eth.txs).toBeGreaterThanOrEqual(3);
    expect(aliceLine.eth.reverted).toBe(0);
    const bobLine = report.users.find((u) => u.user === bob.address.toLowerCase())!;
    expect(bobLine.mints).toMatchObject({ ledgerConfirmed: 5, onChain: 5 });
    const run = await getLastAuditRun();
    expect(run).toMatchObject({
      discrepancies: 0,
      users: 2,
      fromBlock: BigInt(report.fromBlock),
      toBlock: BigInt(report.toBlock),
    });
  });

  it('reads the same history one block per log request', async () => {
    const { code, report } = await auditHere({ blockRange: '1', fromBlock: '0' });
    expect(report.discrepancies).toEqual([]);
    expect(code).toBe(0);
    expect(report.fromBlock).toBe('0');
    expect(report.users.find((u) => u.user === alice.address.toLowerCase())!.mints.onChain).toBe(9);
  });

  it("reports a USDC transfer made with the agent key behind AgentMint's back, and only that", async () => {
    const wallet = (await getWalletByUser({ userAddress: bob.address }))!;
    await send(bob, wallet.agentAddress as Address, 2_000_000n);
    const stranger = '0x000000000000000000000000000000000000dEaD';
    const agent = createWalletClient({
      account: unlockAgentAccount(wallet),
      chain: getChain(),
      transport: http(stack.env.RPC_URL),
    });
    const hash = await agent.writeContract({
      address: stack.deployment.usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [stranger, 750_000n],
    });
    await getPublicClient().waitForTransactionReceipt({ hash });

    const { code, report } = await audit();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.discrepancies).toHaveLength(1);
    expect(report.discrepancies[0]).toMatchObject({
      kind: 'usdc_unexplained_outflow',
      user: bob.address.toLowerCase(),
      txHash: hash,
      amount: '750000',
    });
    expect((await getLastAuditRun())!.discrepancies).toBe(1);
    // Alice's own audit is still clean.
    expect((await auditHere({ userAddress: alice.address })).code).toBe(0);
  });

  it('reports a ledger row edited in SQL as the mint it hides, with its task and price', async () => {
    const task = tasks.a2!;
    await getSql()`update ai_agent_mint_records set status = 'failed' where task_id = ${task.id} and sequence_number = 2`;
    const { code, report } = await auditHere({ userAddress: alice.address });
    expect(code).toBe(1);
    const kinds = report.discrepancies.map((d) => `${d.kind}:${d.taskId}`).sort();
    // The row says failed while its mint is on chain; and mints_completed no longer equals the ledger.
    expect(kinds).toEqual([`mint_not_in_ledger:${task.id}`, `progress_mismatch:${task.id}`]);
    const lost = report.discrepancies.find((d) => d.kind === 'mint_not_in_ledger')!;
    expect(lost).toMatchObject({ sequenceNumber: 2, amount: task.pricePerMint, expected: 'failed' });
    await getSql()`update ai_agent_mint_records set status = 'confirmed' where task_id = ${task.id} and sequence_number = 2`;
    expect((await auditHere({ userAddress: alice.address })).code).toBe(0);
  });

  it('refuses bad arguments (exit 2 in scripts/ops.ts)', async () => {
    await expect(auditCommand({ userAddress: 'nope' })).rejects.toBeInstanceOf(UsageError);
    await expect(auditCommand({ blockRange: '0' })).rejects.toBeInstanceOf(UsageError);
    await expect(auditCommand({ fromBlock: '-3' })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('classifyAgentTx', () => {
  const agent = '0x00000000000000000000000000000000000000a1' as Address;
  const userAddress = '0x00000000000000000000000000000000000000b2' as Address;
  const usdc = '0x00000000000000000000000000000000000000c3' as Address;
  const token = '0x00000000000000000000000000000000000000d4' as Address;
  const mintToken = '0x00000000000000000000000000000000000000d5' as Address;
  const executor = '0x00000000000000000000000000000000000000e6' as Address;
  const ctx = {
    agent,
    user: userAddress,
    usdc,
    tokens: new Set<string>([mintToken]),
    forwardTokens: new Map([[token, new Set<string>([userAddress])]]),
    batchExecutor: executor,
  };
  const transfer = (to: Address) => encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, 5n] });
  const approve = (to: Address) => encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [to, 5n] });
  const batch = (calls: BatchCall[], delegations: string[] = []) => ({
    to: agent,
    input: encodeBatchExecute(calls),
    value: 0n,
    type: '0x4',
    delegations,
  });
  it('knows what AgentMint sends, and nothing else', () => {
    expect(classifyAgentTx({ to: token, input: transfer(userAddress), value: 0n, type: '0x2' }, ctx)).toBe('forward');
    expect(classifyAgentTx({ to: token, input: transfer(agent), value: 0n, type: '0x2' }, ctx)).toBe('unknown');
    // A task bought for a recipient forwards to it; to anyone else it is unknown.
    const recipient = '0x00000000000000000000000000000000000000f7' as Address;
    const forSale = { ...ctx, forwardTokens: new Map([[token, new Set<string>([recipient])]]) };
    expect(classifyAgentTx({ to: token, input: transfer(recipient), value: 0n, type: '0x2' }, forSale)).toBe('forward');
    expect(classifyAgentTx({ to: token, input: transfer(recipient), value: 0n, type: '0x2' }, ctx)).toBe('unknown');
    expect(classifyAgentTx({ to: usdc, input: transfer(userAddress), value: 0n, type: '0x2' }, ctx)).toBe('withdraw');
    expect(classifyAgentTx({ to: usdc, input: transfer(token), value: 0n, type: '0x2' }, ctx)).toBe('unknown');
    expect(classifyAgentTx({ to: usdc, input: approve(mintToken), value: 0n, type: '0x2' }, ctx)).toBe('approve');
    expect(classifyAgentTx({ to: usdc, input: approve(token), value: 0n, type: '0x2' }, ctx)).toBe('unknown');
    expect(classifyAgentTx({ to: agent, input: '0x', value: 0n, type: '0x2' }, ctx)).toBe('nonce_fill');
    expect(classifyAgentTx({ to: agent, input: '0x', value: 1n, type: '0x2' }, ctx)).toBe('unknown');
  });
  it('knows a sweep: plain ETH to the operator, never with data, never in a batch', () => {
    const operator = '0x00000000000000000000000000000000000000f7' as Address;
    const withOperator = { ...ctx, operator };
    expect(classifyAgentTx({ to: operator, input: '0x', value: 5n, type: '0x2' }, withOperator)).toBe('sweep');
    expect(classifyAgentTx({ to: operator, input: '0x', value: 5n, type: '0x2' }, ctx)).toBe('unknown');
    expect(classifyAgentTx({ to: operator, input: '0x', value: 0n, type: '0x2' }, withOperator)).toBe('unknown');
    expect(classifyAgentTx({ to: operator, input: transfer(operator), value: 0n, type: '0x2' }, withOperator)).toBe(
      'unknown',
    );
    expect(classifyAgentTx({ to: token, input: '0x', value: 5n, type: '0x2' }, withOperator)).toBe('unknown');
    expect(classifyAgentTx(batch([{ to: operator, data: '0x', value: 1n }], [executor]), withOperator)).toBe('unknown');
  });
  it('reads a batch call by call, and an EIP-7702 delegation by its target', () => {
    expect(classifyAgentTx(batch([{ to: usdc, data: approve(mintToken) }], [executor]), ctx)).toBe('batch');
    expect(classifyAgentTx(batch([{ to: usdc, data: approve(token) }]), ctx)).toBe('unknown');
    expect(classifyAgentTx(batch([{ to: userAddress, data: '0x', value: 1n }]), ctx)).toBe('batch');
    expect(classifyAgentTx(batch([{ to: token, data: '0x', value: 1n }]), ctx)).toBe('unknown');
    expect(classifyAgentTx(batch([{ to: agent, data: '0x' }]), ctx)).toBe('unknown');
    expect(classifyAgentTx(batch([]), ctx)).toBe('unknown');
    expect(classifyAgentTx(batch([{ to: usdc, data: approve(mintToken) }], [token]), ctx)).toBe('unknown');
    expect(classifyAgentTx({ to: agent, input: '0x12345678', value: 0n, type: '0x2' }, ctx)).toBe('unknown');
    expect(classifyAgentTx(batch([{ to: usdc, data: approve(mintToken) }]), { ...ctx, batchExecutor: undefined })).toBe(
      'unknown',
    );
  });
});

describe('chunkedLogs', () => {
  it('reads every block once, halving a chunk the node refuses', async () => {
    const read: string[] = [];
    const logs = await chunkedLogs(10n, 29n, 8n, async (from, to) => {
      if (to - from + 1n > 4n) throw new Error('query returned more than 10000 results');
      read.push(`${from}-${to}`);
      return Array.from({ length: Number(to - from + 1n) }, (_, i) => from + BigInt(i));
    });
    expect(logs).toEqual(Array.from({ length: 20 }, (_, i) => 10n + BigInt(i)));
    expect(read[0]).toBe('10-13');
  });
});
