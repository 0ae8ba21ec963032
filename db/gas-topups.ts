import { getSql } from './client';

export type GasReservation =
  | { ok: true; id: string; amountWei: bigint }
  | { ok: false; limit: 'task'; spentWei: bigint }
  | { ok: false; limit: 'day'; spentWei: bigint };

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
 *
 * One statement: the SQL function reserve_gas_topup (migration 0014) takes the lock, reads both
 * budgets after it, and writes the task, the top-up row and the wallet's mark (it was eight
 * statements from here, begin to commit, each a round trip and a parse for the worker).
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
  const least = minWei > 0n ? minWei : 1n;
  const [row] = await getSql()<
    { refusedBy: 'task' | 'day' | null; spent: string | null; reservedId: string | null; reserved: string | null }[]
  >`select refused_by as "refusedBy", spent::text, reserved_id::text as "reservedId", reserved::text
    from reserve_gas_topup(${userAddress.toLowerCase()}::text, ${taskId ?? null}::uuid, ${amountWei.toString()}::numeric,
      ${least.toString()}::numeric, ${taskCapWei.toString()}::numeric, ${dayCapWei.toString()}::numeric)`;
  if (row!.refusedBy) return { ok: false, limit: row!.refusedBy, spentWei: BigInt(row!.spent!) };
  return { ok: true, id: row!.reservedId!, amountWei: BigInt(row!.reserved!) };
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
