import { zeroAddress, type Address } from 'viem';
import { markX402ClaimsDelivered } from '@/db/x402-claims';
import {
  assignX402Deliveries,
  getX402DeliveryGroupStart,
  sumX402DeliveriesByTask,
  type X402DeliveryCandidate,
  type X402DeliveryGroup,
  type X402TransferLog,
} from '@/db/x402-deliveries';
import { getX402TaskState, setX402DeliveryFromBlock } from '@/db/x402-task-state';
import { getConfig } from '@/lib/config';
import { getLogger } from '@/lib/log';
import { destinationOf, forwardHeldTokens } from './forwarding';
import type { X402Runtime } from './runtime';
import { readTokenTransfers } from './token-transfers';

// "Completed" means the tokens are where the task sends them (its recipient, named by an x402
// sale, else the user), so deliveries are read from the chain, per task: a seller's 200 proves
// nothing until tokens arrive. A delivery is a Transfer of the task's token to where the endpoint
// mints (that destination where the endpoint takes a recipient, else the agent, which forwards
// everything it holds of the token to the destination), minted (from 0x0) or sent by the payee,
// in a block at or after the one the task's first paid request went out in.
//
// Counting per task, not per wallet: one user may have two tasks for one token whose transfers
// look alike (the worker runs one task per wallet at a time, but a task's late tokens can land
// while the next one runs). So every Transfer log is counted for exactly one task (a ledger,
// ai_agent_x402_deliveries, unique per log), handed out in payment order: to the earliest task of
// the (recipient, token) group that is still owed tokens, i.e. whose counted amount is below its
// settled payments × its unit (the amount one paid mint brings, learnt from its first delivery;
// before that, a task with a settled payment is owed its first transfer). A task that ended takes
// part for X402_DELIVERY_TIMEOUT_MS more (its late tokens, then its claims are marked delivered);
// after that its claims stand and later transfers go to newer tasks. Sellers deliver in the
// order they are paid, so each task counts its own tokens and none counts another's.

export type DeliveryTally = {
  /**
   * Mints of the payments the seller took (a payment buys one, or several: X402Terms.mintsPerPayment):
   * settled ones, and ones it answered 2xx without settling (a seller that delivers first; the
   * authorization stays live, reserved, until it settles or expires).
   */
  paid: number;
  /** Of those, settled on chain. */
  settled: number;
  /** Paid mints whose tokens the user holds (counted transfers ÷ unit, at most `paid`). */
  delivered: number;
  /** Token base units counted for the task. */
  arrived: bigint;
  unit: bigint | null;
  /**
   * Why the agent's tokens were not forwarded this turn (the reads of one block did not agree,
   * forwarding.ts), while that has lasted less than X402_DELIVERY_TIMEOUT_MS: the task does not
   * end on it (windDown), since "completed" means the tokens are where the task sends them.
   */
  forwardPending?: string;
};

/** Where the endpoint's tokens arrive, counted: the destination when it mints to the address named, else the agent. */
const recipientOf = (rt: X402Runtime): Address => (rt.terms.mintsToUser ? destinationOf(rt) : rt.policy.agent);

export function groupOf(rt: X402Runtime): X402DeliveryGroup {
  return {
    userAddress: rt.task.userAddress,
    token: rt.policy.token,
    recipient: recipientOf(rt),
    mintsToUser: rt.terms.mintsToUser,
    endedWithinSeconds: Math.ceil(getConfig().x402.deliveryTimeoutMs / 1000),
  };
}

/** Called before the task's first paid request goes out: no delivery of it can be in an earlier block. */
export async function markDeliveryStart(rt: X402Runtime): Promise<void> {
  const block = await rt.client.getBlockNumber();
  await setX402DeliveryFromBlock({ taskId: rt.task.id, block });
}

/** Hands each log no task counted yet to the earliest task still owed tokens (see the file comment). */
export function assignInPaymentOrder(candidates: X402DeliveryCandidate[], logs: X402TransferLog[]) {
  const owed = candidates.map((c) => ({ ...c }));
  const owes = (c: X402DeliveryCandidate) =>
    c.paid > 0 && (c.unit === null ? c.arrived === 0n : c.arrived < BigInt(c.paid) * c.unit);
  const sorted = [...logs].sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  );
  const out: Array<{ taskId: string; log: X402TransferLog }> = [];
  for (const log of sorted) {
    const task = owed.find((c) => c.fromBlock <= log.blockNumber && owes(c));
    if (!task) continue;
    out.push({ taskId: task.taskId, log });
    task.arrived += log.amount;
    task.unit ??= log.amount;
  }
  return { assignments: out, after: owed };
}

const transferLogs = (rt: X402Runtime, fromBlock: bigint, toBlock: bigint) =>
  readTokenTransfers(
    rt,
    { from: [zeroAddress, rt.terms.requirement.payTo as Address], to: recipientOf(rt) },
    fromBlock,
    toBlock,
  );

/** Hands the group's transfers up to block `atBlock` that no task counted yet to the tasks they are owed to. */
async function countDeliveries(rt: X402Runtime, group: X402DeliveryGroup, atBlock: bigint) {
  const start = await getX402DeliveryGroupStart(group);
  if (start === undefined) return;
  const logs = await transferLogs(rt, start, atBlock);
  let after: X402DeliveryCandidate[] = [];
  const assigned = await assignX402Deliveries({
    group,
    logs,
    plan: (candidates, unassigned) => {
      const plan = assignInPaymentOrder(candidates, unassigned);
      after = plan.after;
      return plan.assignments;
    },
  });
  // Late tokens of a task that already ended: the claims they answer are delivered after all.
  for (const taskId of new Set(assigned.map((a) => a.taskId)))
    if (taskId !== rt.task.id) {
      const other = after.find((x) => x.taskId === taskId);
      if (other?.unit) await markX402ClaimsDelivered({ taskId, delivered: Number(other.arrived / other.unit) });
    }
}

/**
 * Counts what reached the user for the task (`paid` settled payments), forwarding first what
 * reached the agent. Cheap when nothing is paid yet and nothing is forwarded: no chain read.
 */
export async function tallyDeliveries(rt: X402Runtime, paid: number, settled: number): Promise<DeliveryTally> {
  const forwards = !rt.terms.mintsToUser;
  let forwardPending: string | undefined;
  // A task that forwards counts the group's transfers even before it paid: what the agent holds
  // may be another task's late tokens, which only counting tells from the user's.
  if (paid > 0 || forwards) {
    const group = groupOf(rt);
    // One block for every read counting and forwarding decide from, read fresh (not viem's cached
    // number): a transfer in the balance is then in the logs read, or the forward waits.
    const atBlock = await rt.client.getBlockNumber({ cacheTime: 0 });
    await countDeliveries(rt, group, atBlock);
    if (forwards) forwardPending = pendingForward(rt, (await forwardHeldTokens(rt, group, atBlock)).deferred);
  }
  const [{ amount }, state] = await Promise.all([
    sumX402DeliveriesByTask({ taskId: rt.task.id }),
    getX402TaskState({ taskId: rt.task.id, retries: rt.task.retries }),
  ]);
  const unit = state.deliveryUnit;
  const delivered = unit ? Math.min(paid, Number(amount / unit)) : 0;
  if (delivered > 0) await markX402ClaimsDelivered({ taskId: rt.task.id, delivered });
  return { paid, settled, delivered, arrived: amount, unit, forwardPending };
}

/** When the run's deferrals in a row began, and whether the bound was reported. */
const forwardDeferred = new WeakMap<X402Runtime, { since: number; gaveUp: boolean }>();

/**
 * A forward deferred this turn, while the run's deferrals in a row began less than
 * X402_DELIVERY_TIMEOUT_MS ago. Past that bound (a node that stays behind, or a token whose logs
 * never explain its balance) the task may end, its tokens left in the agent for a later turn of
 * the wallet. Logged when the deferrals begin and when the bound is passed, not every turn (500 ms).
 */
function pendingForward(rt: X402Runtime, deferred: string | undefined): string | undefined {
  if (deferred === undefined) {
    forwardDeferred.delete(rt);
    return undefined;
  }
  const timeoutMs = getConfig().x402.deliveryTimeoutMs;
  const state = forwardDeferred.get(rt);
  const log = { taskId: rt.task.id, token: rt.policy.token, agent: rt.policy.agent };
  if (!state) {
    forwardDeferred.set(rt, { since: Date.now(), gaveUp: false });
    getLogger().warn(log, `x402 token forward deferred (retried each turn for up to ${timeoutMs} ms): ${deferred}`);
    return deferred;
  }
  if (Date.now() - state.since < timeoutMs) return deferred;
  if (!state.gaveUp) {
    state.gaveUp = true;
    getLogger().error(
      log,
      `x402 token forward still deferred after ${timeoutMs} ms; the tokens stay in the agent for a later turn of the wallet: ${deferred}`,
    );
  }
  return undefined;
}
