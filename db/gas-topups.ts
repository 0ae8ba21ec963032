import { getSql } from './client';

// First key of the two-int advisory lock for gas budgets (apart from funding's 3009).
const GAS_BUDGET_LOCK_SPACE = 2100;

export type GasReservation =
  | { ok: true; id: string }
  | { ok: false; limit: 'task'; spentWei: bigint }
  | { ok: false; limit: 'day'; spentWei: bigint };

/**
 * Reserves a gas top-up before it is sent, against the task's cap (gas_topped_up_wei) and the
 * user's budget for the last 24 hours (agent_gas_topups), both or neither, in one transaction
 * that holds the user's budget lock: two tasks of one user topping up at once cannot both
 * squeeze under the daily cap. Counting before sending errs towards spending less.
 */
export async function reserveGasTopUp({
  userAddress,
  taskId,
  amountWei,
  taskCapWei,
  dayCapWei,
}: {
  userAddress: string;
  taskId?: string;
  amountWei: bigint;
  taskCapWei: bigint;
  dayCapWei: bigint;
}): Promise<GasReservation> {
  const user = userAddress.toLowerCase();
  return getSql().begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${GAS_BUDGET_LOCK_SPACE}, hashtext(${user}))`;
    const [day] = await tx<{ spent: string }[]>`
      select coalesce(sum(amount_wei), 0)::text as spent from agent_gas_topups
      where user_address = ${user} and created_at > now() - interval '1 day'`;
    const spentToday = BigInt(day!.spent);
    if (spentToday + amountWei > dayCapWei) return { ok: false, limit: 'day', spentWei: spentToday } as const;
    if (taskId) {
      const rows = await tx<{ spent: string }[]>`
        update ai_agent_tasks set gas_topped_up_wei = gas_topped_up_wei + ${amountWei.toString()}::numeric
        where id = ${taskId} and gas_topped_up_wei + ${amountWei.toString()}::numeric <= ${taskCapWei.toString()}::numeric
        returning gas_topped_up_wei::text as spent`;
      if (rows.length === 0) {
        const [task] = await tx<
          { spent: string }[]
        >`select gas_topped_up_wei::text as spent from ai_agent_tasks where id = ${taskId}`;
        return { ok: false, limit: 'task', spentWei: BigInt(task?.spent ?? '0') } as const;
      }
    }
    const [row] = await tx<{ id: string }[]>`
      insert into agent_gas_topups (user_address, task_id, amount_wei) values (${user}, ${taskId ?? null}, ${amountWei.toString()}::numeric)
      returning id::text`;
    return { ok: true, id: row!.id } as const;
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
