import type postgres from 'postgres';
import { getSql } from './client';

// Token transfers counted as x402 deliveries (ai_agent_x402_deliveries), a Transfer log counted
// for at most one task. Which task a log counts for is decided by the worker
// (worker/x402/delivery.ts) under a lock per (recipient, token), so two workers never hand one
// log to two tasks, and every task of the group sees what the others already counted.

/** First key of the two-int advisory lock for delivery counting (gas budgets 2100, operator 2200, funding 3009). */
const DELIVERY_LOCK_SPACE = 2400;

/** A task that may be owed tokens by the group's transfers, with what it paid and what it was counted. */
export type X402DeliveryCandidate = {
  taskId: string;
  status: string;
  /** No delivery of the task can be in an earlier block (its first paid request went out after it). */
  fromBlock: bigint;
  /** Token base units one paid mint brings, once the task's first delivery showed it. */
  unit: bigint | null;
  /** Mints paid for: of settled payments, and of ones answered 2xx unsettled. */
  paid: number;
  /** Token base units counted for the task so far. */
  arrived: bigint;
};

export type X402TransferLog = {
  txHash: string;
  logIndex: number;
  blockNumber: bigint;
  amount: bigint;
};

/**
 * Tasks whose tokens arrive at one address: an endpoint that mints to the address named sends
 * every task's tokens to its destination (its recipient, else its user), whoever paid; one that
 * mints to the payer sends them to the user's agent, which forwards.
 */
export type X402DeliveryGroup = {
  userAddress: string;
  token: string;
  /** Where the group's tokens arrive: the tasks' destination, or the user's agent. */
  recipient: string;
  /** Whether the endpoint mints to the address named (else the agent receives and forwards). */
  mintsToUser: boolean;
  /** Tasks that ended this long ago no longer take part (late tokens of older tasks count for no one). */
  endedWithinSeconds: number;
};

/** A candidate with where its tokens end up: its recipient, else its user (lower-case). */
export type X402DeliveryCandidateTo = X402DeliveryCandidate & { destination: string };

type CandidateRow = {
  taskId: string;
  destination: string;
  status: string;
  fromBlock: string;
  unit: string | null;
  paid: number;
  arrived: string;
};

async function candidatesOf(
  tx: postgres.Sql | postgres.TransactionSql,
  group: X402DeliveryGroup,
): Promise<X402DeliveryCandidateTo[]> {
  const rows = await tx<CandidateRow[]>`
    select t.id as "taskId", lower(coalesce(t.recipient, t.user_address)) as destination, t.status, s.delivery_from_block::text as "fromBlock", s.delivery_unit::text as unit,
      (select coalesce(sum(p.units), 0) from ai_agent_x402_payments p where p.task_id = t.id and (p.status = 'settled'
        or (p.status in ('signed', 'sent', 'expired') and p.http_status between 200 and 299)))::int as paid,
      (select coalesce(sum(d.amount), 0) from ai_agent_x402_deliveries d where d.task_id = t.id)::text as arrived
    from ai_agent_tasks t join ai_agent_x402_task_state s on s.task_id = t.id
    where t.token_address = ${group.token.toLowerCase()}
      and t.route = 'x402' and (t.x402->>'mintsToUser')::boolean = ${group.mintsToUser}
      and ${
        group.mintsToUser
          ? tx`coalesce(t.recipient, t.user_address) = ${group.recipient.toLowerCase()}`
          : tx`t.user_address = ${group.userAddress.toLowerCase()}`
      }
      and s.delivery_from_block is not null
      and (t.status in ('funded', 'processing') or t.updated_at > now() - make_interval(secs => ${group.endedWithinSeconds}))
    order by s.delivery_from_block, t.created_at`;
  return rows.map((r) => ({
    taskId: r.taskId,
    destination: r.destination,
    status: r.status,
    fromBlock: BigInt(r.fromBlock),
    unit: r.unit === null ? null : BigInt(r.unit),
    paid: r.paid,
    arrived: BigInt(r.arrived),
  }));
}

/** The group's tasks that may still be owed tokens, in payment order, with what each was counted. */
export const listX402DeliveryCandidates = (group: X402DeliveryGroup) => candidatesOf(getSql(), group);

/** The earliest block any task of the group can still be owed a delivery from (undefined: none can). */
export async function getX402DeliveryGroupStart(group: X402DeliveryGroup): Promise<bigint | undefined> {
  const candidates = await candidatesOf(getSql(), group);
  return candidates.length
    ? candidates.reduce((m, c) => (c.fromBlock < m ? c.fromBlock : m), candidates[0]!.fromBlock)
    : undefined;
}

/**
 * Counts transfer logs for the group's tasks, under the group's lock: `plan` gets the tasks (in
 * payment order, with what each was counted so far) and the logs no task has yet, and returns
 * which task each log counts for. A task's unit is set from its first counted log.
 */
export async function assignX402Deliveries({
  group,
  logs,
  plan,
}: {
  group: X402DeliveryGroup;
  logs: X402TransferLog[];
  plan: (
    candidates: X402DeliveryCandidate[],
    unassigned: X402TransferLog[],
  ) => Array<{ taskId: string; log: X402TransferLog }>;
}) {
  if (logs.length === 0) return [];
  return getSql().begin(async (tx) => {
    const key = `${group.recipient.toLowerCase()}:${group.token.toLowerCase()}`;
    await tx`select pg_advisory_xact_lock(${DELIVERY_LOCK_SPACE}, hashtext(${key}))`;
    const taken = await tx<{ txHash: string; logIndex: number }[]>`
      select tx_hash as "txHash", log_index as "logIndex" from ai_agent_x402_deliveries
      where tx_hash = any(${tx.array(logs.map((l) => l.txHash.toLowerCase()))}::text[])`;
    const takenKeys = new Set(taken.map((t) => `${t.txHash}:${t.logIndex}`));
    const unassigned = logs.filter((l) => !takenKeys.has(`${l.txHash.toLowerCase()}:${l.logIndex}`));
    if (unassigned.length === 0) return [];
    const assignments = plan(await candidatesOf(tx, group), unassigned);
    for (const { taskId, log } of assignments) {
      await tx`
        insert into ai_agent_x402_deliveries (task_id, token, recipient, tx_hash, log_index, block_number, amount)
        values (${taskId}, ${group.token.toLowerCase()}, ${group.recipient.toLowerCase()}, ${log.txHash.toLowerCase()},
          ${log.logIndex}, ${log.blockNumber.toString()}::bigint, ${log.amount.toString()}::numeric)`;
      await tx`
        update ai_agent_x402_task_state set delivery_unit = ${log.amount.toString()}::numeric, updated_at = now()
        where task_id = ${taskId} and delivery_unit is null`;
    }
    return assignments;
  });
}

/**
 * Where the tokens of `agent`'s x402 tasks for `token` that arrive at the agent go (each task's
 * recipient, else its user; lower-case): the addresses the agent may forward that token to. Only
 * tasks still running or ended within `endedWithinSeconds` (those late tokens can still be counted
 * for: X402DeliveryGroup), not every recipient the wallet ever named.
 */
export async function listX402DestinationsByAgent({
  agent,
  token,
  endedWithinSeconds,
}: {
  agent: string;
  token: string;
  endedWithinSeconds: number;
}) {
  const rows = await getSql()<{ destination: string }[]>`
    select distinct lower(coalesce(t.recipient, t.user_address)) as destination
    from ai_agent_tasks t join ai_agent_wallets w on w.id = t.agent_wallet_id
    where w.agent_address = ${agent.toLowerCase()} and t.token_address = ${token.toLowerCase()}
      and t.route = 'x402' and (t.x402->>'mintsToUser')::boolean = false
      and (t.status in ('funded', 'processing') or t.updated_at > now() - make_interval(secs => ${endedWithinSeconds}))`;
  return rows.map((r) => r.destination);
}

/** A transfer counted for one of the tasks, as the ledger has it. */
export type X402CountedDelivery = X402TransferLog & { taskId: string };

/**
 * The transfers counted for `taskIds` in blocks up to `toBlock`: what a decision made as of that
 * block may rely on (the ledger can hold later ones, counted by a read of a later block).
 */
export async function listX402DeliveriesByTaskIds({
  taskIds,
  toBlock,
}: {
  taskIds: string[];
  toBlock: bigint;
}): Promise<X402CountedDelivery[]> {
  if (taskIds.length === 0) return [];
  const rows = await getSql()<
    { taskId: string; txHash: string; logIndex: number; blockNumber: string; amount: string }[]
  >`
    select task_id as "taskId", tx_hash as "txHash", log_index as "logIndex", block_number::text as "blockNumber", amount::text as amount
    from ai_agent_x402_deliveries
    where task_id = any(${taskIds}::uuid[]) and block_number <= ${toBlock.toString()}::bigint
    order by block_number, log_index`;
  return rows.map((r) => ({ ...r, blockNumber: BigInt(r.blockNumber), amount: BigInt(r.amount) }));
}

/** Token base units counted as the task's deliveries, and in how many transfers. */
export async function sumX402DeliveriesByTask({ taskId }: { taskId: string }) {
  const [row] = await getSql()<{ amount: string; transfers: number }[]>`
    select coalesce(sum(amount), 0)::text as amount, count(*)::int as transfers
    from ai_agent_x402_deliveries where task_id = ${taskId}`;
  return { amount: BigInt(row!.amount), transfers: row!.transfers };
}
