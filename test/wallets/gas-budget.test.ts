import { parseEther } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { releaseGasTopUp, reserveGasTopUp } from '@/db/gas-topups';
import { getTaskById } from '@/db/tasks';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';

// The gas budgets a top-up is reserved against (db/gas-topups.ts, the SQL function
// reserve_gas_topup), on real Postgres: what is cut, what is refused and with which figure, what
// is written, and one user's tasks reserving all at once.

const stack = useTestStack({ startTimeoutMs: 90_000 });

const eth = (value: string) => parseEther(value);
const newTask = (userIndex: number) =>
  createPendingTask({ userAddress: user(userIndex).address, token: stack.deployment.tokens[0]!.address, quantity: 10 });
const toppedUp = async (taskId: string) => BigInt((await getTaskById({ id: taskId }))!.gasToppedUpWei);
const topUpRows = (userAddress: string) =>
  getSql()<{ taskId: string | null; amountWei: string }[]>`
    select task_id as "taskId", amount_wei::text as "amountWei" from agent_gas_topups
    where user_address = ${userAddress.toLowerCase()} order by id`;

describe('reserving a gas top-up', () => {
  it("cuts to what the day still allows, not below minWei; then refuses with the day's spending", async () => {
    const task = await newTask(1);
    const budget = { userAddress: user(1).address, taskId: task.id, taskCapWei: eth('1'), dayCapWei: eth('0.2') };
    // Yesterday's top-ups no longer count; today's do.
    await getSql()`insert into agent_gas_topups (user_address, amount_wei, created_at)
      values (${user(1).address.toLowerCase()}, ${eth('5').toString()}, now() - interval '25 hours'),
             (${user(1).address.toLowerCase()}, ${eth('0.15').toString()}, now() - interval '23 hours')`;

    const cut = await reserveGasTopUp({ ...budget, amountWei: eth('0.1'), minWei: eth('0.01') });
    expect(cut).toMatchObject({ ok: true, amountWei: eth('0.05') });
    expect(await toppedUp(task.id)).toBe(eth('0.05'));

    expect(await reserveGasTopUp({ ...budget, amountWei: eth('0.1'), minWei: eth('0.01') })).toEqual({
      ok: false,
      limit: 'day',
      spentWei: eth('0.2'),
    });
    // Without minWei, all of the amount or nothing.
    expect(await reserveGasTopUp({ ...budget, amountWei: 1n })).toMatchObject({ ok: false, limit: 'day' });
    expect(await toppedUp(task.id)).toBe(eth('0.05'));
    expect((await topUpRows(user(1).address)).filter((row) => row.taskId === task.id)).toEqual([
      { taskId: task.id, amountWei: eth('0.05').toString() },
    ]);
  });

  it("cuts to the task's cap, refuses past it with the task's spending, and release gives it back", async () => {
    const task = await newTask(2);
    const budget = { userAddress: user(2).address, taskId: task.id, taskCapWei: eth('0.03'), dayCapWei: eth('1') };
    await getSql()`update ai_agent_wallets set eth_sweep_due_at = null where user_address = ${user(2).address.toLowerCase()}`;

    const first = await reserveGasTopUp({ ...budget, amountWei: eth('0.05'), minWei: eth('0.01') });
    expect(first).toMatchObject({ ok: true, amountWei: eth('0.03') });
    expect(await toppedUp(task.id)).toBe(eth('0.03'));
    // The wallet is marked for a sweep of what the agent does not burn.
    const [wallet] = await getSql()<{ due: boolean }[]>`
      select eth_sweep_due_at is not null as due from ai_agent_wallets where user_address = ${user(2).address.toLowerCase()}`;
    expect(wallet!.due).toBe(true);

    expect(await reserveGasTopUp({ ...budget, amountWei: eth('0.01') })).toEqual({
      ok: false,
      limit: 'task',
      spentWei: eth('0.03'),
    });
    if (!first.ok) return;
    await releaseGasTopUp({ id: first.id, taskId: task.id, amountWei: first.amountWei });
    expect(await toppedUp(task.id)).toBe(0n);
    expect(await reserveGasTopUp({ ...budget, amountWei: eth('0.01') })).toMatchObject({
      ok: true,
      amountWei: eth('0.01'),
    });
  });

  it('refuses a task that does not exist, writing nothing', async () => {
    const before = (await topUpRows(user(3).address)).length;
    expect(
      await reserveGasTopUp({
        userAddress: user(3).address,
        taskId: '00000000-0000-4000-8000-000000000000',
        amountWei: 1n,
        taskCapWei: eth('1'),
        dayCapWei: eth('1'),
      }),
    ).toEqual({ ok: false, limit: 'task', spentWei: 0n });
    expect(await topUpRows(user(3).address)).toHaveLength(before);
  });

  it("two tasks of one user topping up at once share the day's budget: what is reserved never passes it", async () => {
    const tasks = [await newTask(4), await newTask(4)];
    const ids = tasks.map((task) => task.id);
    // Every attempt is made to wait in the middle of its reservation, at the tasks' row locks, so
    // they all overlap: one that read the day's spending before it held the user's budget lock
    // would read it before the others' top-ups and pass the cap with them.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: Promise<unknown>;
    await new Promise<void>((held, failed) => {
      holding = getSql().begin(async (tx) => {
        await tx`select 1 from ai_agent_tasks where id in ${tx(ids)} for update`;
        held();
        await released;
      });
      holding.catch(failed);
    });
    const attempts = Array.from({ length: 8 }, (_, i) =>
      reserveGasTopUp({
        userAddress: user(4).address,
        taskId: ids[i % 2]!,
        amountWei: eth('0.03'),
        minWei: eth('0.02'),
        taskCapWei: eth('1'),
        dayCapWei: eth('0.1'),
      }),
    );
    for (let polls = 0; ; polls++) {
      const [row] = await getSql()<{ waiting: number }[]>`
        select count(*)::int as waiting from pg_stat_activity
        where wait_event_type = 'Lock' and query like '%reserve_gas_topup%'`;
      if (row!.waiting === attempts.length) break;
      if (polls > 100) throw new Error(`only ${row!.waiting} of ${attempts.length} reservations waiting`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    release();
    await holding;
    const results = await Promise.all(attempts);
    // 0.03 + 0.03 + 0.03 leaves 0.01 of the day, below minWei: three fit, whatever the order.
    expect(results.flatMap((r) => (r.ok ? [r.amountWei] : []))).toEqual([eth('0.03'), eth('0.03'), eth('0.03')]);
    expect(results.filter((r) => !r.ok && r.limit === 'day')).toHaveLength(5);
    const perTask = await Promise.all(ids.map(toppedUp));
    expect(perTask[0]! + perTask[1]!).toBe(eth('0.09'));
    const rows = await topUpRows(user(4).address);
    expect(rows.reduce((sum, row) => sum + BigInt(row.amountWei), 0n)).toBe(eth('0.09'));
  });
});
