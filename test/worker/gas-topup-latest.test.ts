import { expect, it } from 'vitest';
import { getLatestGasTopUpByTask, recordGasTopUpTx, reserveGasTopUp } from '@/db/gas-topups';
import { useTestStack } from '../support/use-test-stack';
import { createPendingTask, user } from '../support/fixtures';

// The pipeline refills an unpaced task's gas mid-run and first looks at the task's latest top-up
// (its age decides whether to read the balance again). Read through a raw query, its time came
// back as text, and every refill after the first top-up failed the run (bench:mint found it).

const stack = useTestStack({ startTimeoutMs: 90_000 });

it("a task's latest gas top-up carries its time as a Date", async () => {
  const userAddress = user(1).address;
  const task = await createPendingTask({ userAddress, token: stack.deployment.tokens[0]!.address, quantity: 10 });
  const reservation = await reserveGasTopUp({
    userAddress,
    taskId: task.id,
    amountWei: 1n,
    taskCapWei: 10n ** 18n,
    dayCapWei: 10n ** 18n,
  });
  if (!reservation.ok) throw new Error('not reserved');
  await recordGasTopUpTx({ id: reservation.id, txHash: `0x${'ab'.repeat(32)}` });
  const latest = await getLatestGasTopUpByTask({ userAddress, taskId: task.id });
  expect(latest!.createdAt).toBeInstanceOf(Date);
  expect(Math.abs(Date.now() - latest!.createdAt.getTime())).toBeLessThan(60_000);
});
