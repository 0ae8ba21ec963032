import { getSql } from './client';
import type { X402StopOutcome } from './schema';

// The x402 side of a task that outlives one run (ai_agent_x402_task_state): counters a retry
// must not reset, how deliveries are counted, and the stop the task is winding down to. A row
// is created on first write; reads of a task without one get the defaults.

export type X402TaskState = {
  refusals: number;
  operatorCancels: number;
  deliveryUnit: bigint | null;
  deliveryFromBlock: bigint | null;
  /** The stop of the current run, if it decided one (a stop of an earlier run, before a retry, is not returned). */
  stop: { outcome: X402StopOutcome; reason: string } | null;
};

type StateRow = {
  refusals: number;
  operatorCancels: number;
  deliveryUnit: string | null;
  deliveryFromBlock: string | null;
  stopOutcome: X402StopOutcome | null;
  stopReason: string | null;
  stopRetries: number | null;
};

/** The task's state; `retries` (the task's retry count) decides whether a recorded stop is this run's. */
export async function getX402TaskState({ taskId, retries }: { taskId: string; retries: number }) {
  const [row] = await getSql()<StateRow[]>`
    select refusals, operator_cancels as "operatorCancels", delivery_unit::text as "deliveryUnit",
      delivery_from_block::text as "deliveryFromBlock", stop_outcome as "stopOutcome", stop_reason as "stopReason",
      stop_retries as "stopRetries"
    from ai_agent_x402_task_state where task_id = ${taskId}`;
  const state: X402TaskState = {
    refusals: row?.refusals ?? 0,
    operatorCancels: row?.operatorCancels ?? 0,
    deliveryUnit: row?.deliveryUnit ? BigInt(row.deliveryUnit) : null,
    deliveryFromBlock: row?.deliveryFromBlock ? BigInt(row.deliveryFromBlock) : null,
    stop:
      row?.stopOutcome && row.stopReason !== null && row.stopRetries === retries
        ? { outcome: row.stopOutcome, reason: row.stopReason }
        : null,
  };
  return state;
}

/** Counts refused payments; returns the task's total over all its runs. */
export async function addX402Refusals({ taskId, count }: { taskId: string; count: number }): Promise<number> {
  const [row] = await getSql()<{ refusals: number }[]>`
    insert into ai_agent_x402_task_state (task_id, refusals) values (${taskId}, ${count})
    on conflict (task_id) do update set refusals = ai_agent_x402_task_state.refusals + excluded.refusals, updated_at = now()
    returning refusals`;
  return row!.refusals;
}

/** Takes one of the task's `max` operator cancels; false when they are used up (never more than `max`, even from two workers). */
export async function takeX402OperatorCancel({ taskId, max }: { taskId: string; max: number }): Promise<boolean> {
  if (max <= 0) return false;
  const rows = await getSql()<{ n: number }[]>`
    insert into ai_agent_x402_task_state (task_id, operator_cancels) values (${taskId}, 1)
    on conflict (task_id) do update set operator_cancels = ai_agent_x402_task_state.operator_cancels + 1, updated_at = now()
      where ai_agent_x402_task_state.operator_cancels < ${max}
    returning operator_cancels as n`;
  return rows.length > 0;
}

/** A cancel that was never broadcast gives its count back. */
export async function returnX402OperatorCancel({ taskId }: { taskId: string }) {
  await getSql()`
    update ai_agent_x402_task_state set operator_cancels = greatest(0, operator_cancels - 1), updated_at = now()
    where task_id = ${taskId}`;
}

/** The first block a delivery of the task can be in; set once (the first value written wins). */
export async function setX402DeliveryFromBlock({ taskId, block }: { taskId: string; block: bigint }): Promise<bigint> {
  const [row] = await getSql()<{ block: string }[]>`
    insert into ai_agent_x402_task_state (task_id, delivery_from_block) values (${taskId}, ${block.toString()}::bigint)
    on conflict (task_id) do update set
      delivery_from_block = coalesce(ai_agent_x402_task_state.delivery_from_block, excluded.delivery_from_block), updated_at = now()
    returning delivery_from_block::text as block`;
  return BigInt(row!.block);
}

/**
 * Records why the task stops (for this run: `retries`); the first stop recorded wins, so a
 * cancel that arrives while a failure winds down does not rewrite it. Returns the stop in force.
 */
export async function recordX402Stop({
  taskId,
  retries,
  outcome,
  reason,
}: {
  taskId: string;
  retries: number;
  outcome: X402StopOutcome;
  reason: string;
}): Promise<{ outcome: X402StopOutcome; reason: string }> {
  const [row] = await getSql()<{ outcome: X402StopOutcome; reason: string }[]>`
    insert into ai_agent_x402_task_state (task_id, stop_outcome, stop_reason, stop_retries)
    values (${taskId}, ${outcome}, ${reason}, ${retries})
    on conflict (task_id) do update set
      stop_outcome = case when ai_agent_x402_task_state.stop_retries is not distinct from excluded.stop_retries
        then ai_agent_x402_task_state.stop_outcome else excluded.stop_outcome end,
      stop_reason = case when ai_agent_x402_task_state.stop_retries is not distinct from excluded.stop_retries
        then ai_agent_x402_task_state.stop_reason else excluded.stop_reason end,
      stop_retries = excluded.stop_retries, updated_at = now()
    returning stop_outcome as outcome, stop_reason as reason`;
  return row!;
}
