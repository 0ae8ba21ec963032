import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { LeaseLostError } from '@/db/mint-records';
import { getTaskById } from '@/db/tasks';
import { runAudit } from '@/lib/audit/run-audit';
import { getPublicClient } from '@/lib/chain/clients';
import { chainClients } from '../contracts/chain-helpers';
import {
  createFundedTask,
  expectLedgerMatchesChain,
  spawnWorker,
  startMintWorker,
  useWorkerStack,
  waitForTasks,
} from './support';

// The reconciler's two gaps and the lease fence, on real anvil. Each scenario starts from a
// worker process SIGKILLed right after writing its first batch (4 signed mints, none sent).

const filled: { nonces: number[]; txHashes: string[] }[] = [];

const setup = useWorkerStack({
  // One transaction per mint (the path where a row's nonce is its own); batches share one.
  env: {
    MINT_EXECUTION: 'single',
    MINT_BATCH_SIZE: '4',
    MINT_PIPELINE_DEPTH: '1',
    LEASE_MS: '2000',
    CHECK_INTERVAL_MS: '200',
    RECEIPT_TIMEOUT_MS: '2000',
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'silent',
  },
});

const rpc = (method: string, params?: unknown[]) => chainClients(setup.stack.anvil.url).rpc(method, params);

type Row = { sequence_number: number; nonce: number; status: string; raw_transaction: Hex; tx_hash: Hex };
const rowsOf = (taskId: string) =>
  getSql()<
    Row[]
  >`select sequence_number, nonce, status, raw_transaction, tx_hash from ai_agent_mint_records where task_id = ${taskId} order by nonce`;

/** A funded task whose worker died right after writing its first batch to the ledger. */
async function crashedAfterFirstWrite(userIndex: number) {
  const task = await createFundedTask(setup.stack, { userIndex, quantity: 8 });
  const child = spawnWorker({ ...setup.stack.env, WORKER_CRASH_AT: 'after-ledger-write:1' });
  setup.children.push(child);
  const exit = await child.exited;
  expect(exit.signal, child.output()).toBe('SIGKILL');
  const rows = await rowsOf(task.id);
  expect(rows.map((r) => r.status)).toEqual(['signed', 'signed', 'signed', 'signed']);
  return { task, rows };
}

async function startWorker() {
  const { Reporter } = await import('@/worker/reporter');
  const reporter = new Reporter();
  const original = reporter.nonceHolesFilled.bind(reporter);
  reporter.nonceHolesFilled = (task, fill) => (filled.push(fill), original(task, fill));
  setup.worker = await startMintWorker({ reporter });
}

describe('reconciler gaps', () => {
  it('a worker without the lease sends nothing: the fence refuses before the broadcast', async () => {
    const { task, rows } = await crashedAfterFirstWrite(1);
    const { broadcastBatch } = await import('@/worker/contract/single-mint-batch');
    const nonceBefore = await getPublicClient().getTransactionCount({
      address: task.agentAddress as Hex,
      blockTag: 'pending',
    });
    const zombie = { client: getPublicClient(), task: { id: task.id }, workerId: 'zombie-worker' } as never;
    const mints = rows.map((r) => ({ rawTransaction: r.raw_transaction })) as never;
    await expect(broadcastBatch(zombie, { mints } as never)).rejects.toBeInstanceOf(LeaseLostError);
    expect(
      await getPublicClient().getTransactionCount({ address: task.agentAddress as Hex, blockTag: 'pending' }),
    ).toBe(nonceBefore);
    // The task is left for the next test's worker to finish.
    await getSql()`update ai_agent_tasks set locked_until = now() where id = ${task.id}`;
    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 30_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    await setup.worker!.stop();
    setup.worker = undefined;
  }, 90_000);

  it('fills a nonce no recorded transaction will use, so the mints behind it are mined', async () => {
    const { task, rows } = await crashedAfterFirstWrite(2);
    // The lowest mint's row is settled as failed (as if dropped) although its nonce was never
    // used: its mint is re-signed later with a new nonce, and no row will ever use this one.
    const hole = rows[0]!;
    await getSql()`update ai_agent_mint_records set status = 'failed', error = 'test: dropped' where task_id = ${task.id} and nonce = ${hole.nonce}`;
    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 30_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    expect(filled.map((f) => f.nonces)).toEqual([[hole.nonce]]);
    const filler = await getPublicClient().getTransaction({ hash: filled[0]!.txHashes[0] as Hex });
    expect({
      from: filler.from.toLowerCase(),
      to: filler.to?.toLowerCase(),
      value: filler.value,
      nonce: filler.nonce,
    }).toEqual({
      from: task.agentAddress,
      to: task.agentAddress,
      value: 0n,
      nonce: hole.nonce,
    });
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
    const audit = await runAudit({ userAddress: task.userAddress, record: false });
    expect(audit.discrepancies).toEqual([]);
    await setup.worker!.stop();
    setup.worker = undefined;
  }, 90_000);

  it('keeps what it learned when collecting receipts times out', async () => {
    const { task, rows } = await crashedAfterFirstWrite(3);
    // Two of the four mints reach the chain; then the chain stops mining, so the other two
    // cannot be mined before RECEIPT_TIMEOUT_MS (2 s) however often they are sent.
    for (const row of rows.slice(0, 2)) await rpc('eth_sendRawTransaction', [row.raw_transaction]);
    for (const row of rows.slice(0, 2)) await getPublicClient().waitForTransactionReceipt({ hash: row.tx_hash });
    await rpc('evm_setAutomine', [false]);
    try {
      await startWorker();
      const deadline = Date.now() + 20_000;
      let now = await rowsOf(task.id);
      while (Date.now() < deadline && now.filter((r) => r.status === 'confirmed').length < 2) {
        await new Promise((r) => setTimeout(r, 200));
        now = await rowsOf(task.id);
      }
      expect(now.map((r) => r.status)).toEqual(['confirmed', 'confirmed', 'signed', 'signed']);
      expect((await getTaskById({ id: task.id }))!.mintsCompleted).toBe(2);
    } finally {
      await rpc('evm_setAutomine', [true]);
      await rpc('anvil_mine', ['0x1']);
    }
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 30_000);
    expect(done!.status, done!.errorMessage ?? '').toBe('completed');
    await expectLedgerMatchesChain(setup.stack.deployment.tokens[0]!.address, [task.id]);
    expect((await runAudit({ record: false })).discrepancies).toEqual([]);
  }, 90_000);
});
