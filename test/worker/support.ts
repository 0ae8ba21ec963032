import { createWalletClient, erc20Abi, http, parseAbiItem, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, expect } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById, transitionTask } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { createPendingTask, user } from '../support/fixtures';
import { startTestStack, type TestStack, type TestStackOptions } from '../support/stack';
import { killWorker, startMintWorker, type WorkerChild } from '../support/worker';

// Starting a worker (in process or as a child) is shared with the benchmarks: test/support/worker.ts.
export { killWorker, spawnWorker, startMintWorker, type WorkerChild } from '../support/worker';

export class WorkerStack {
  /** Set before the file's tests run. */
  stack!: TestStack;
  /** The in-process worker, when one runs: stopped after the file's tests. */
  worker?: import('@/worker/loop').MintWorker;
  /** The worker processes the tests spawned: killed after the file's tests. */
  children: WorkerChild[] = [];
}

/**
 * A test file's stack and the workers its tests run on it: the stack starts before the tests
 * (with `startWorker`, an in-process worker too; 90 s for both), and after them the in-process
 * worker stops, the worker processes are killed and the stack stops. Read it inside tests.
 */
export function useWorkerStack({ startWorker, ...options }: TestStackOptions & { startWorker?: boolean }) {
  const setup = new WorkerStack();
  beforeAll(async () => {
    setup.stack = await startTestStack(options);
    if (startWorker) setup.worker = await startMintWorker();
  }, 90_000);
  afterAll(async () => {
    await setup.worker?.stop();
    for (const child of setup.children) await killWorker(child);
    await setup.stack?.stop();
  }, 30_000);
  return setup;
}

/** A funded task: the user sends the USDC to their agent directly (the fund route is tested elsewhere). */
export async function createFundedTask(
  stack: TestStack,
  { userIndex, quantity, token }: { userIndex: number; quantity: number; token?: Address },
) {
  const account = user(userIndex);
  const task = await createPendingTask({
    userAddress: account.address,
    token: token ?? stack.deployment.tokens[0]!.address,
    quantity,
  });
  const wallet = createWalletClient({ account, chain: getChain(), transport: http(stack.env.RPC_URL) });
  const hash = await wallet.writeContract({
    address: stack.deployment.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [task.agentAddress as Address, BigInt(task.totalCost)],
  });
  await getPublicClient().waitForTransactionReceipt({ hash });
  await markTaskFunded(task.id, hash);
  return task;
}

/** A pending task becomes funded by the transfer `hash`, as the fund route marks it once that is mined. */
export const markTaskFunded = (taskId: string, hash: Hex) =>
  transitionTask({
    id: taskId,
    from: 'pending_payment',
    to: 'funded',
    set: { fundedAt: new Date(), fundingTxHash: hash },
  });

export async function waitForTasks(ids: string[], statuses: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await Promise.all(ids.map((id) => getTaskById({ id })));
    if (tasks.every((t) => t && statuses.includes(t.status))) return tasks.map((t) => t!);
    if (Date.now() > deadline)
      throw new Error(
        `tasks not ${statuses.join('|')} in ${timeoutMs} ms: ${tasks.map((t) => `${t?.id.slice(0, 8)}=${t?.status} ${t?.mintsCompleted}/${t?.quantity} ${t?.errorMessage ?? ''}`).join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

const mintedEvent = parseAbiItem(
  'event Minted(address indexed payer, address indexed to, bytes32 indexed mintId, uint256 amount, uint256 price)',
);

export async function mintedEvents(token: Address) {
  return getPublicClient().getLogs({ address: token, event: mintedEvent, fromBlock: 0n });
}

/**
 * The ledger equals the chain: every confirmed row has exactly one Minted event with its
 * mintId, tx hash, payer = agent and to = user; every Minted event of these tasks is in the
 * ledger; no mintId or (agent, nonce) appears twice; counters equal the ledger.
 */
export async function expectLedgerMatchesChain(token: Address, taskIds: string[]) {
  const rows = await getSql()<
    {
      task_id: string;
      sequence_number: number;
      mint_id: string;
      nonce: number;
      tx_hash: string;
      status: string;
      agent: string;
      user_address: string;
    }[]
  >`
    select r.task_id, r.sequence_number, r.mint_id, r.nonce, r.tx_hash, r.status, w.agent_address as agent, t.user_address
    from ai_agent_mint_records r join ai_agent_tasks t on t.id = r.task_id join ai_agent_wallets w on w.id = t.agent_wallet_id
    where r.task_id in ${getSql()(taskIds)}`;
  const events = await mintedEvents(token);
  const byMintId = new Map<string, (typeof events)[number][]>();
  for (const e of events) byMintId.set(e.args.mintId!, [...(byMintId.get(e.args.mintId!) ?? []), e]);
  const confirmed = rows.filter((r) => r.status === 'confirmed');
  for (const row of confirmed) {
    const found = byMintId.get(row.mint_id as Hex) ?? [];
    expect(found, `mint ${row.sequence_number} of ${row.task_id}`).toHaveLength(1);
    expect(found[0]!.transactionHash).toBe(row.tx_hash);
    expect(found[0]!.args.payer!.toLowerCase()).toBe(row.agent);
    expect(found[0]!.args.to!.toLowerCase()).toBe(row.user_address);
  }
  const ledgerIds = new Set(rows.map((r) => r.mint_id));
  const agents = new Set(rows.map((r) => r.agent));
  const ours = events.filter((e) => agents.has(e.args.payer!.toLowerCase()));
  for (const e of ours) expect(ledgerIds.has(e.args.mintId!), `event ${e.args.mintId} in ledger`).toBe(true);
  expect(ours.length).toBe(confirmed.length);
  expect(new Set(rows.map((r) => r.mint_id)).size).toBe(rows.length);
  // One transaction per (agent, nonce): single mints each have their own; the mints of an
  // EIP-7702 batch share their batch's.
  const txByNonce = new Map<string, Set<string>>();
  for (const r of confirmed)
    txByNonce.set(`${r.agent}:${r.nonce}`, (txByNonce.get(`${r.agent}:${r.nonce}`) ?? new Set()).add(r.tx_hash));
  for (const [key, hashes] of txByNonce) expect(hashes.size, `transactions at ${key}`).toBe(1);
  for (const id of taskIds) {
    const task = (await getTaskById({ id }))!;
    expect(task.mintsCompleted).toBe(confirmed.filter((r) => r.task_id === id).length);
  }
  return { rows, events: ours };
}

export async function tokenBalance(token: Address, owner: Address) {
  return getPublicClient().readContract({
    address: token,
    abi: paidMintTokenAbi,
    functionName: 'balanceOf',
    args: [owner],
  });
}

export type SweepRow = {
  txHash: Hex;
  nonce: number;
  amountWei: string;
  maxGasWei: string;
  gasCostWei: string | null;
  status: string;
};

/** The wallet's sweeps (lib/wallets/sweep.ts), oldest first. */
export const sweepsOf = (agentWalletId: string) =>
  getSql()<SweepRow[]>`
    select tx_hash as "txHash", nonce, amount_wei::text as "amountWei", max_gas_wei::text as "maxGasWei",
      gas_cost_wei::text as "gasCostWei", status
    from agent_eth_sweeps where agent_wallet_id = ${agentWalletId} order by id`;

/** Waits for the wallet's first sweep to be mined: the worker sends it just after the wallet's task ends. */
export async function awaitSweep(agentWalletId: string, timeoutMs = 30_000): Promise<SweepRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sweepsOf(agentWalletId);
    if (row?.status === 'confirmed') return row;
    if (Date.now() > deadline) throw new Error(`no confirmed sweep of wallet ${agentWalletId}: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for the refund that follows the task's end (lib/wallets/refund.ts) and returns its transaction, if it sent one. */
export async function awaitRefund(taskId: string, timeoutMs = 30_000): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await getSql()<{ checkedAt: Date | null; txHash: string | null }[]>`
      select refund_checked_at as "checkedAt", refund_tx_hash as "txHash" from ai_agent_tasks where id = ${taskId}`;
    if (row?.checkedAt) return row.txHash;
    if (Date.now() > deadline) throw new Error(`task ${taskId} not refunded in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
