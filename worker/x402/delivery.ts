import { encodeFunctionData, erc20Abi, parseAbiItem, zeroAddress, type Address } from 'viem';
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
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { ensureAgentGas } from '@/lib/wallets/gas-topup';
import type { X402Runtime } from './runtime';
import { assertLease } from '../fence';

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

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
// Gas limit of forwarding an ERC20 to the user: a plain transfer to a new holder takes ~51k (21k +
// two storage writes); twice that leaves room for a token that does more on transfer. Only the gas
// used is paid, but a top-up must cover limit × max fee, so it is not larger.
const FORWARD_GAS = 100_000n;
// Blocks per eth_getLogs call when reading the token's transfers: public nodes cap the range a
// call may span (often a few thousand blocks); the audit uses the same default (AUDIT_LOG_BLOCK_RANGE).
const LOG_BLOCK_RANGE = 2_000n;

export type DeliveryTally = {
  /**
   * Payments the seller took: settled ones, and ones it answered 2xx without settling (a seller
   * that delivers first; the authorization stays live, reserved, until it settles or expires).
   */
  paid: number;
  /** Of those, settled on chain. */
  settled: number;
  /** Paid mints whose tokens the user holds (counted transfers ÷ unit, at most `paid`). */
  delivered: number;
  /** Token base units counted for the task. */
  arrived: bigint;
  unit: bigint | null;
};

/** Where the task's tokens end up: its recipient, else the user (the only address a forward may name). */
const destinationOf = (rt: X402Runtime): Address => rt.policy.recipient ?? rt.policy.user;

/** Where the endpoint's tokens arrive, counted: the destination when it mints to the address named, else the agent. */
const recipientOf = (rt: X402Runtime): Address => (rt.terms.mintsToUser ? destinationOf(rt) : rt.policy.agent);

function groupOf(rt: X402Runtime): X402DeliveryGroup {
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

async function transferLogs(rt: X402Runtime, fromBlock: bigint): Promise<X402TransferLog[]> {
  const latest = await rt.client.getBlockNumber();
  const senders = [zeroAddress, rt.terms.requirement.payTo as Address];
  const out: X402TransferLog[] = [];
  for (let from = fromBlock; from <= latest; from += LOG_BLOCK_RANGE) {
    const to = from + LOG_BLOCK_RANGE - 1n < latest ? from + LOG_BLOCK_RANGE - 1n : latest;
    const logs = await rt.client.getLogs({
      address: rt.policy.token,
      event: transferEvent,
      args: { from: senders, to: recipientOf(rt) },
      fromBlock: from,
      toBlock: to,
    });
    for (const l of logs)
      if (!l.removed && l.args.value && l.args.value > 0n)
        out.push({ txHash: l.transactionHash, logIndex: l.logIndex, blockNumber: l.blockNumber, amount: l.args.value });
  }
  return out;
}

/**
 * Counts what reached the user for the task (`paid` settled payments), forwarding first what
 * reached the agent. Cheap when nothing is paid yet: no chain read.
 */
export async function tallyDeliveries(rt: X402Runtime, paid: number, settled: number): Promise<DeliveryTally> {
  const group = groupOf(rt);
  const start = paid > 0 ? await getX402DeliveryGroupStart(group) : undefined;
  if (start !== undefined) {
    const logs = await transferLogs(rt, start);
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
  if (!rt.terms.mintsToUser) await forwardHeldTokens(rt);
  const [{ amount }, state] = await Promise.all([
    sumX402DeliveriesByTask({ taskId: rt.task.id }),
    getX402TaskState({ taskId: rt.task.id, retries: rt.task.retries }),
  ]);
  const unit = state.deliveryUnit;
  const delivered = unit ? Math.min(paid, Number(amount / unit)) : 0;
  if (delivered > 0) await markX402ClaimsDelivered({ taskId: rt.task.id, delivered });
  return { paid, settled, delivered, arrived: amount, unit };
}

/** The agent holds tokens of the task's token (an endpoint that mints to the payer): all go to the task's destination. */
async function forwardHeldTokens(rt: X402Runtime) {
  const balance = await rt.client.readContract({
    address: rt.policy.token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [rt.policy.agent],
  });
  if (balance > 0n) await forward(rt, balance);
}

const forwardsLeft = (rt: X402Runtime) =>
  Math.max(1, Math.ceil((rt.task.quantity - rt.task.mintsCompleted) / getConfig().worker.batchSize));

async function forward(rt: X402Runtime, amount: bigint) {
  const config = getConfig().worker;
  const [quote, balance, nonce] = await Promise.all([
    quoteFees(rt.client, { maxFeeGwei: config.maxFeeGwei }),
    rt.client.getBalance({ address: rt.policy.agent }),
    rt.client.getTransactionCount({ address: rt.policy.agent, blockTag: 'pending' }),
  ]);
  const topUp = await ensureAgentGas({
    userAddress: rt.task.userAddress,
    taskId: rt.task.id,
    agent: rt.policy.agent,
    balance,
    neededWei: FORWARD_GAS * quote.maxFeePerGas,
    // Gas for the forwards still to come (about one a batch), so each does not wait for a top-up of its own.
    wantedWei: FORWARD_GAS * quote.maxFeePerGas * BigInt(forwardsLeft(rt)),
    client: rt.client,
  });
  if (topUp) rt.reporter.gasToppedUp(rt.task, topUp.amountWei, topUp.txHash);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [destinationOf(rt), amount] });
  const raw = await rt.signer!.signForward(
    {
      type: 'eip1559',
      chainId: rt.client.chain!.id,
      to: rt.policy.token as Address,
      data,
      gas: FORWARD_GAS,
      nonce,
      ...feesOf(quote),
    },
    amount,
  );
  await assertLease(rt);
  const hash = await rt.client.sendRawTransaction({ serializedTransaction: raw });
  const receipt = await waitForReceipt(rt.client, hash, config.receiptTimeoutMs);
  if (receipt.status !== 'success')
    throw new Error(`forwarding ${amount} of ${rt.policy.token} to ${destinationOf(rt)} reverted (${hash})`);
  rt.reporter.tokensForwarded(rt.task, { amount, txHash: hash });
}
