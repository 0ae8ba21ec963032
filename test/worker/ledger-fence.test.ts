import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import {
  holdsTaskLease,
  LeaseLostError,
  listMintRecordsByTask,
  writeAndSettleMints,
  writeSignedMints,
  type SignedMint,
} from '@/db/mint-records';
import { claimNextTask } from '@/db/task-queue';
import { transitionTask } from '@/db/tasks';
import {
  insertX402Payments,
  listX402PaymentsByTask,
  resolveX402Payments,
  type NewX402Payment,
} from '@/db/x402-payments';
import { withOperatorNonce } from '@/lib/chain/operator-send';
import { assertLease, leaseCheck } from '@/worker/fence';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

// Both ledgers (contract mints, x402 payments) write only for the worker holding a live lease
// on the processing task: one fencing condition (db/mint-records.ts leasedTaskQuery), nested
// into each ledger's single insert statement.

const stack = useTestStack({ startTimeoutMs: 90_000 });

const claimed: string[] = [];
async function claimedTask(userIndex: number, leaseMs = 60_000) {
  const task = await createPendingTask({
    userAddress: user(userIndex).address,
    token: stack.deployment.tokens[0]!.address,
    quantity: 3,
  });
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
  // An earlier test's task whose lease expired would be claimable again.
  expect((await claimNextTask({ workerId: 'holder', leaseMs, exclude: claimed }))?.id).toBe(task.id);
  claimed.push(task.id);
  return task;
}

const mint = (sequenceNumber: number): SignedMint => ({
  sequenceNumber,
  mintId: `0x${sequenceNumber.toString(16).padStart(64, '0')}`,
  nonce: sequenceNumber,
  txHash: `0x${(1000 + sequenceNumber).toString(16).padStart(64, '0')}`,
  rawTransaction: '0x02',
  maxFeePerGas: 2n,
  maxPriorityFeePerGas: 1n,
});

let nonces = 0;
const payment = (sequenceNumber: number, units = 1): NewX402Payment => ({
  sequenceNumber,
  units,
  nonce: `0x${(++nonces).toString(16).padStart(64, '0')}`,
  authorization: { value: '10000' },
  signature: '0x01',
  amount: '10000',
  payTo: '0x00000000000000000000000000000000000000bb',
  validBefore: new Date(Date.now() + 60_000),
});

const expireLease = (taskId: string) =>
  getSql()`update ai_agent_tasks set locked_until = now() - interval '1 second' where id = ${taskId}`;

describe('the lease fences both ledgers', () => {
  it('contract mints: written for the holder; another worker or an expired lease writes nothing', async () => {
    const task = await claimedTask(1);
    expect(await holdsTaskLease({ taskId: task.id, workerId: 'holder' })).toBe(true);
    expect(await holdsTaskLease({ taskId: task.id, workerId: 'other' })).toBe(false);
    await expect(writeSignedMints({ taskId: task.id, workerId: 'other', mints: [mint(1)] })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(await listMintRecordsByTask({ taskId: task.id })).toHaveLength(0);
    await writeSignedMints({ taskId: task.id, workerId: 'holder', mints: [mint(1), mint(2)] });
    expect((await listMintRecordsByTask({ taskId: task.id })).map((r) => r.sequenceNumber)).toEqual([1, 2]);
    await expireLease(task.id);
    expect(await holdsTaskLease({ taskId: task.id, workerId: 'holder' })).toBe(false);
    await expect(writeSignedMints({ taskId: task.id, workerId: 'holder', mints: [mint(3)] })).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(await listMintRecordsByTask({ taskId: task.id })).toHaveLength(2);
  });

  it('a write carrying earlier settles: one statement; a refused write still settles, a re-signed failed row counts as open', async () => {
    const task = await claimedTask(4);
    const lease = { taskId: task.id, workerId: 'holder' };
    // Its own mintIds and hashes (both unique across tasks), the same for a re-signed sequence.
    const hex = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
    const signed = (seq: number): SignedMint => ({
      ...mint(seq),
      mintId: hex(0xab00 + seq),
      txHash: hex(0xcd00 + seq),
    });
    await writeSignedMints({ ...lease, mints: [signed(1), signed(2)] });
    const confirmed = (seq: number) => ({
      sequenceNumber: seq,
      txHash: signed(seq).txHash,
      blockNumber: 7n,
      gasUsed: 21_000n,
      effectiveGasPrice: 1n,
    });
    // Batch 2's write carries batch 1's settle (1 confirmed, 2 failed): both commit, counters recounted.
    const carried = await writeAndSettleMints({
      ...lease,
      mints: [signed(3)],
      confirmed: [confirmed(1)],
      failed: [{ sequenceNumber: 2, error: 'dropped' }],
    });
    expect(carried.written).toBe(true);
    expect(carried.leaseMs).toBeGreaterThan(0);
    expect(carried.progress).toMatchObject({ mintsCompleted: 1, mintsFailed: 1 });
    const status = async () =>
      Object.fromEntries((await listMintRecordsByTask({ taskId: task.id })).map((r) => [r.sequenceNumber, r.status]));
    expect(await status()).toEqual({ 1: 'confirmed', 2: 'failed', 3: 'signed' });
    // The failed mint re-signed in the statement that settles another: it counts as open, not failed.
    const resigned = await writeAndSettleMints({ ...lease, mints: [signed(2)], confirmed: [confirmed(3)] });
    expect(resigned.written).toBe(true);
    expect(resigned.progress).toMatchObject({ mintsCompleted: 2, mintsFailed: 0 });
    expect(await status()).toEqual({ 1: 'confirmed', 2: 'signed', 3: 'confirmed' });
    // The lease gone: the write is refused (nothing to broadcast), the chain's answer is still kept.
    await expireLease(task.id);
    const refused = await writeAndSettleMints({ ...lease, mints: [signed(4)], confirmed: [confirmed(2)] });
    expect(refused).toMatchObject({ written: false, leaseMs: undefined, progress: { mintsCompleted: 3 } });
    expect(await status()).toEqual({ 1: 'confirmed', 2: 'confirmed', 3: 'confirmed' });
  });

  it('x402 payments: written for the holder; another worker or an expired lease writes nothing', async () => {
    const task = await claimedTask(2);
    await expect(
      insertX402Payments({ taskId: task.id, workerId: 'other', payments: [payment(1)], limit: 30_000n }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await listX402PaymentsByTask({ taskId: task.id })).toHaveLength(0);
    expect(
      await insertX402Payments({
        taskId: task.id,
        workerId: 'holder',
        payments: [payment(1), payment(2)],
        limit: 30_000n,
      }),
    ).toHaveLength(2);
    await expireLease(task.id);
    await expect(
      insertX402Payments({ taskId: task.id, workerId: 'holder', payments: [payment(3)], limit: 30_000n }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await listX402PaymentsByTask({ taskId: task.id })).toHaveLength(2);
  });

  it('a send relies on a checked lease only while it surely still runs: never past its expiry', async () => {
    // worker/fence.ts: a check that found the lease held (with its time left) spares the sends
    // right after it a query, for at most 90% of the time the lease had left.
    const task = await claimedTask(3, 400);
    const ctx = { task: { id: task.id }, workerId: 'holder' };
    await assertLease(ctx);
    await new Promise((r) => setTimeout(r, 450)); // the lease has run out; nobody renewed it
    await expect(assertLease(ctx)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(assertLease({ ...ctx, workerId: 'other' })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it("the operator's nonce lock checks the lease in its own statement: the send under it asks no more, a lost lease sends nothing", async () => {
    // worker/contract/gas-top-up.ts: the check before a top-up rides on the lock's statement.
    const task = await claimedTask(4);
    const holder = { task: { id: task.id }, workerId: 'holder' };
    const sent = await withOperatorNonce(
      async () => {
        // Taken from the worker now: the check below can only pass on the proof the lock's statement gave.
        await getSql()`update ai_agent_tasks set locked_by = 'thief' where id = ${task.id}`;
        await assertLease(holder);
        return 'sent';
      },
      undefined,
      { lease: () => leaseCheck(holder) },
    );
    expect(sent).toBe('sent');

    // The same worker later, its proof gone: the lock's statement finds the lease lost, and assertLease throws.
    const robbed = { task: { id: task.id }, workerId: 'holder' };
    let reached = false;
    await expect(
      withOperatorNonce(
        async () => {
          await assertLease(robbed);
          reached = true;
        },
        undefined,
        { lease: () => leaseCheck(robbed) },
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(reached).toBe(false);
  });
});

describe('the x402 ledger never holds two payments for one mint', () => {
  // db/migrations/0015_x402_payment_ranges.sql: the database itself refuses a payment whose mints
  // overlap an open or settled one's, whatever the worker's own choice of mints says.
  const write = (taskId: string, payments: NewX402Payment[]) =>
    insertX402Payments({ taskId, workerId: 'holder', payments, limit: 1_000_000n });
  const mintsOf = async (taskId: string) =>
    (await listX402PaymentsByTask({ taskId })).map((p) => [p.sequenceNumber, p.units, p.status]);

  it('an open payment for mints 1..3 refuses another for mint 2, and a batch holding one writes none of it', async () => {
    const task = await claimedTask(5);
    await write(task.id, [payment(1, 3)]);
    await expect(write(task.id, [payment(2)])).rejects.toThrow(
      /mints 2\.\.2 overlap a payment already open or settled/,
    );
    await expect(write(task.id, [payment(4), payment(3)])).rejects.toThrow(/overlap/);
    await expect(write(task.id, [payment(5, 2), payment(6)])).rejects.toThrow(/overlap/); // a batch overlapping itself
    expect(await mintsOf(task.id)).toEqual([[1, 3, 'signed']]);
  });

  it('a settled mint is never bought again; a cancelled payment frees its mints', async () => {
    const task = await claimedTask(6);
    const [settled, cancelled] = await write(task.id, [payment(1), payment(2, 2)]);
    await resolveX402Payments({
      resolutions: [
        { id: settled!, status: 'settled' },
        { id: cancelled!, status: 'cancelled' },
      ],
    });
    await expect(write(task.id, [payment(1)])).rejects.toThrow(/overlap/);
    await write(task.id, [payment(2), payment(3)]);
    await expect(write(task.id, [payment(4, 0)])).rejects.toThrow(/units_positive/);
    expect(await mintsOf(task.id)).toEqual([
      [1, 1, 'settled'],
      [2, 2, 'cancelled'],
      [2, 1, 'signed'],
      [3, 1, 'signed'],
    ]);
  });
});
