import { createWalletClient, erc20Abi, http, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById, TASK_EVENTS_CHANNEL, type TaskEvent } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { getUsdcBalance } from '@/lib/chain/usdc';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { getTaskStatus } from '@/lib/tasks/task-status';
import { anvilAccount, startAnvil } from '@/scripts/local/anvil';
import { chainClients } from '../contracts/chain-helpers';
import { createPendingTask, user } from '../support/fixtures';
import { mintExecutionUnderTest } from '../support/stack';
import {
  awaitRefund,
  createFundedTask,
  expectLedgerMatchesChain,
  mintedEvents,
  startMintWorker,
  useWorkerStack,
  waitForTasks,
} from './support';

// Outage, cancel, a revert that fails the task, and the payment timeout, with an in-process
// worker pacing 5-mint batches 300 ms apart. MAX_RETRIES=1 so a real revert fails fast and
// any transient error wrongly counted as an attempt would fail the outage task.

const events: TaskEvent[] = [];
let restarted: Awaited<ReturnType<typeof startAnvil>> | undefined;

const setup = useWorkerStack({
  anvilState: true,
  env: {
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '300',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '3',
    MAX_RETRIES: '1',
    LOG_LEVEL: 'silent',
  },
});

beforeAll(async () => {
  await getSql().listen(TASK_EVENTS_CHANNEL, (payload) => events.push(JSON.parse(payload) as TaskEvent));
  setup.worker = await startMintWorker();
});

afterAll(() => restarted?.stop());

async function waitForProgress(id: string, atLeast: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (((await getTaskById({ id }))?.mintsCompleted ?? 0) >= atLeast) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`task ${id} did not reach ${atLeast} mints`);
}

describe('worker lifecycle', () => {
  it('survives a 10 s chain outage mid-task and is never marked failed', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    const task = await createFundedTask(setup.stack, { userIndex: 1, quantity: 30 });
    await waitForProgress(task.id, 5);
    const port = setup.stack.anvil.port;
    await setup.stack.anvil.stop();
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await getTaskById({ id: task.id }))!.status).toBe('processing');
    restarted = await startAnvil({ port, stateFile: `${setup.stack.dir}/anvil-state.json` });

    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 60_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(done!.attempts).toBe(0);
    expect(events.filter((e) => e.taskId === task.id).map((e) => e.status)).not.toContain('failed');
    const { rows } = await expectLedgerMatchesChain(token, [task.id]);
    expect(rows.filter((r) => r.status === 'confirmed')).toHaveLength(30);
  }, 120_000);

  it('cancel during processing stops after the batch in flight; unspent USDC goes back to the user', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    const task = await createFundedTask(setup.stack, { userIndex: 2, quantity: 30 });
    const userBefore = await getUsdcBalance(task.userAddress as Address);
    await waitForProgress(task.id, 5);
    await getSql()`update ai_agent_tasks set cancel_requested = true where id = ${task.id} and status = 'processing'`;
    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 30_000);
    expect(done!.status).toBe('cancelled');
    expect(done!.mintsCompleted % 5).toBe(0);
    expect(done!.mintsCompleted).toBeLessThan(30);
    const open =
      await getSql()`select 1 from ai_agent_mint_records where task_id = ${task.id} and status <> 'confirmed'`;
    expect(open).toHaveLength(0);
    const minted = (await mintedEvents(token)).filter((e) => e.args.payer!.toLowerCase() === task.agentAddress);
    expect(minted).toHaveLength(done!.mintsCompleted);
    // What the cancel left unspent goes back to the user, and the agent keeps none; the task as
    // every reader gets it (the card, the API, MCP) names the refund's transaction.
    const refundTx = await awaitRefund(task.id);
    expect(refundTx).toMatch(/^0x[0-9a-f]{64}$/);
    expect((await getTaskStatus({ taskId: task.id, userAddress: task.userAddress })).task.refund).toEqual({
      status: 'sent',
      txHash: refundTx,
    });
    const unspent = BigInt(task.pricePerMint) * BigInt(30 - done!.mintsCompleted);
    expect(await getUsdcBalance(task.userAddress as Address)).toBe(userBefore + unspent);
    expect(await getUsdcBalance(task.agentAddress as Address)).toBe(0n);
  }, 60_000);

  it('a paused token fails the task after MAX_RETRIES with a readable message, nothing sent', async () => {
    const token = setup.stack.deployment.tokens[1]!.address;
    const owner = createWalletClient({
      account: anvilAccount(0),
      chain: getChain(),
      transport: http(setup.stack.anvil.url),
    });
    await getPublicClient().waitForTransactionReceipt({
      hash: await owner.writeContract({ address: token, abi: paidMintTokenAbi, functionName: 'pause' }),
    });
    const task = await createFundedTask(setup.stack, { userIndex: 3, quantity: 12, token });
    const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 30_000);
    expect(done!.status).toBe('failed');
    expect(done!.errorMessage).toBe('Minting of this token is paused by its owner.');
    expect(done!.attempts).toBe(2);
    const rows = await getSql()`select 1 from ai_agent_mint_records where task_id = ${task.id}`;
    expect(rows).toHaveLength(0);
  }, 60_000);

  it('cancels a task left unpaid past PAYMENT_TIMEOUT', async () => {
    const task = await createPendingTask({
      userAddress: user(4).address,
      token: setup.stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    const fresh = await createPendingTask({
      userAddress: user(5).address,
      token: setup.stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    await getSql()`update ai_agent_tasks set created_at = now() - interval '11 minutes' where id = ${task.id}`;
    const [done] = await waitForTasks([task.id], ['cancelled'], 10_000);
    expect(done!.errorMessage).toBe('payment window expired');
    expect((await getTaskById({ id: fresh.id }))!.status).toBe('pending_payment');
  }, 30_000);

  it('replaces a stuck mint (same nonce, same mintId, fees +12.5%) and settles it once', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    // Batched, the task's 5 mints are one transaction (to the agent itself, carrying the delegation).
    const batched = mintExecutionUnderTest() === 'batch';
    let task0Agent = () => '';
    const [mintTarget, mintTxs] = batched ? [() => task0Agent(), 1] : [() => token.toLowerCase(), 5];
    const { rpc } = chainClients(setup.stack.anvil.url);
    const task = await createFundedTask(setup.stack, { userIndex: 6, quantity: 5 });
    task0Agent = () => task.agentAddress.toLowerCase();
    // From here blocks only come from this miner. Once the task's 5 mints are in the pool, each
    // block it mines gets a base fee just above their max fee (a fee market that moved past
    // them), so they stay pending, however often they are sent again, until replaced with higher
    // fees. (Dropping them from the pool instead raced the worker's rebroadcasts on a busy machine.)
    await rpc('evm_setAutomine', [false]);
    const stuck = new Set<string>();
    let originalFee = 0n;
    let mining = true;
    const miner = (async () => {
      while (mining) {
        if (stuck.size === 0) {
          const pool = (await rpc('txpool_content')) as {
            pending: Record<string, Record<string, { hash: string; to: string; maxFeePerGas: string }>>;
          };
          const pending = Object.entries(pool.pending ?? {}).flatMap(([from, txs]) =>
            Object.values(txs).map((tx) => ({ ...tx, from: from.toLowerCase() })),
          );
          const mints = pending.filter((tx) => tx.from === task.agentAddress && tx.to?.toLowerCase() === mintTarget());
          if (mints.length === mintTxs)
            for (const tx of mints) (stuck.add(tx.hash), (originalFee = BigInt(tx.maxFeePerGas)));
          // Mine only what the mints wait for (the gas top-up, the approval): they are sent after
          // it is mined, so no block can take them before they were seen here. A block mined on
          // a pool that might receive them any moment raced the worker on a busy machine.
          else if (mints.length > 0 || pending.length === 0) {
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
        }
        if (stuck.size > 0) await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(originalFee + 1n).toString(16)}`]);
        await rpc('anvil_mine', ['0x1']);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const [done] = await waitForTasks([task.id], ['completed', 'failed', 'cancelled'], 60_000);
      expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    } finally {
      mining = false;
      await miner;
      await rpc('evm_setAutomine', [true]);
    }
    expect(stuck.size).toBe(mintTxs);
    const rows = await getSql()<{ tx_hash: string; error: string | null; max_fee_per_gas: string }[]>`
      select tx_hash, error, max_fee_per_gas from ai_agent_mint_records where task_id = ${task.id}`;
    for (const row of rows) {
      expect(stuck.has(row.tx_hash)).toBe(false);
      expect(row.error).toMatch(batched ? /replaced stuck batch transaction/ : /replaced stuck transaction/);
      expect(BigInt(row.max_fee_per_gas) * 1000n).toBeGreaterThanOrEqual(originalFee * 1125n);
    }
    await expectLedgerMatchesChain(token, [task.id]);
  }, 90_000);
});
