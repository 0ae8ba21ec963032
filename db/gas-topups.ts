import { getSql } from './client';

// First key of the two-int advisory lock for gas budgets (apart from funding's 3009).
const GAS_BUDGET_LOCK_SPACE = 2100;

export type GasReservation =
  | { ok: true; id: string; amountWei: bigint }
  | { ok: false; limit: 'task'; spentWei: bigint }
  | { ok: false; limit: 'day'; spentWei: bigint };

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * Reserves a gas top-up before it is sent, against the task's cap (gas_topped_up_wei) and the
 * user's budget for the last 24 hours, both or neither, in one transaction that holds the user's
 * budget lock: two tasks of one user topping up at once cannot both squeeze under the daily cap.
 * The day counts what the operator is out: top-ups (agent_gas_topups) minus the ETH sweeps gave
 * back (agent_eth_sweeps, confirmed ones only). Counting before sending errs towards spending less.
 *
 * `amountWei` is what the caller would like to send; it is cut to what both budgets still allow,
 * and refused only when that is below `minWei` (default: all of it), what the agent cannot do
 * without. The wallet is marked for a sweep (lib/wallets/sweep.ts): what it is sent and does not
 * burn goes back once it is idle.
 */
export async function reserveGasTopUp({
  userAddress,
  taskId,
  amountWei,
  minWei = amountWei,
  taskCapWei,
  dayCapWei,
}: {
  userAddress: string;
  taskId?: string;
  amountWei: bigint;
  minWei?: bigint;
  taskCapWei: bigint;
  dayCapWei: bigint;
}): Promise<GasReservation> {
  const user = userAddress.toLowerCase();
  const least = minWei > 0n ? minWei : 1n;
  return getSql().begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${GAS_BUDGET_LOCK_SPACE}, hashtext(${user}))`;
    const [day] = await tx<{ spent: string }[]>`
      select (
        (select coalesce(sum(amount_wei), 0) from agent_gas_topups
          where user_address = ${user} and created_at > now() - interval '1 day')
        - (select coalesce(sum(amount_wei), 0) from agent_eth_sweeps
          where user_address = ${user} and status = 'confirmed' and created_at > now() - interval '1 day')
      )::text as spent`;
    const spentToday = BigInt(day!.spent);
    let amount = min(amountWei, dayCapWei - spentToday);
    if (amount < least) return { ok: false, limit: 'day', spentWei: spentToday } as const;
    if (taskId) {
      // The row lock is uncontended: every change of gas_topped_up_wei holds the budget lock above.
      const [task] = await tx<{ spent: string }[]>`
        select gas_topped_up_wei::text as spent from ai_agent_tasks where id = ${taskId} for update`;
      const spentByTask = BigInt(task?.spent ?? '0');
      amount = min(amount, taskCapWei - spentByTask);
      if (!task || amount < least) return { ok: false, limit: 'task', spentWei: spentByTask } as const;
      await tx`update ai_agent_tasks set gas_topped_up_wei = gas_topped_up_wei + ${amount.toString()}::numeric
        where id = ${taskId}`;
    }
    const [row] = await tx<{ id: string }[]>`
      insert into agent_gas_topups (user_address, task_id, amount_wei) values (${user}, ${taskId ?? null}, ${amount.toString()}::numeric)
      returning id::text`;
    await tx`update ai_agent_wallets set eth_sweep_due_at = now() where user_address = ${user}`;
    return { ok: true, id: row!.id, amountWei: amount } as const;
  });
}

/** The top-up was refused before broadcast: give its amount back to both budgets. */
export async function releaseGasTopUp({ id, taskId, amountWei }: { id: string; taskId?: string; amountWei: bigint }) {
  await getSql().begin(async (tx) => {
    await tx`delete from agent_gas_topups where id = ${id}`;
    if (taskId)
      await tx`update ai_agent_tasks set gas_topped_up_wei = gas_topped_up_wei - ${amountWei.toString()}::numeric where id = ${taskId}`;
  });
}

export async function recordGasTopUpTx({ id, txHash }: { id: string; txHash: string }) {
  await getSql()`update agent_gas_topups set tx_hash = ${txHash} where id = ${id}`;
}

/** The task's latest top-up that was handed to the node (the user's index finds it: a user has few rows a day). */
export async function getLatestGasTopUpByTask({ userAddress, taskId }: { userAddress: string; taskId: string }) {
  const [row] = await getSql()<{ txHash: string; amountWei: string; createdAt: Date }[]>`
    select tx_hash as "txHash", amount_wei::text as "amountWei", created_at as "createdAt" from agent_gas_topups
    where user_address = ${userAddress.toLowerCase()} and task_id = ${taskId} and tx_hash is not null
    order by id desc limit 1`;
  // A raw query returns timestamps as text: drizzle's postgres-js driver turns off postgres.js's date parsing.
  return row && { ...row, createdAt: new Date(row.createdAt) };
}

/** The user's latest top-up of any kind (a task's, or a withdrawal's when `taskId` is null). */
export async function getLatestGasTopUpByUser({ userAddress }: { userAddress: string }) {
  const [row] = await getSql()<{ taskId: string | null; createdAt: Date }[]>`
    select task_id as "taskId", created_at as "createdAt" from agent_gas_topups
    where user_address = ${userAddress.toLowerCase()} order by created_at desc, id desc limit 1`;
  return row && { ...row, createdAt: new Date(row.createdAt) };
}
