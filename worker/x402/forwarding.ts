import { BaseError, ContractFunctionZeroDataError, encodeFunctionData, erc20Abi, getAddress, type Address } from 'viem';
import {
  listX402DeliveriesByTaskIds,
  listX402DeliveryCandidates,
  type X402CountedDelivery,
  type X402DeliveryCandidateTo,
  type X402DeliveryGroup,
} from '@/db/x402-deliveries';
import { safeChainCause } from '@/lib/chain/eip3009';
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { ensureAgentGas } from '@/lib/wallets/gas-topup';
import { destinationOfPolicy } from '@/lib/wallets/payment-guard';
import type { X402Runtime } from './runtime';
import { readTokenTransfers, type TokenTransfer } from './token-transfers';
import { assertLease } from '../fence';

// An endpoint that mints to the payer sends the tokens to the agent, which forwards them to the
// task's destination: its recipient (an x402 sale's), else the user. One payer may buy for several
// recipients from one seller, so the agent's balance of a token can hold tokens counted for tasks
// with other destinations (a task's late tokens land while the next one runs). The running task
// sends each destination what is counted for it (only it is there to: the worker runs one task of
// a wallet at a time), and takes for its own destination only what is not counted for another.
// Tokens counted for no task are the user's. Every one of these decisions is made from the reads
// of one block (holdingsAt), or not at all that turn.

// Gas limit of forwarding an ERC20: a plain transfer to a new holder takes ~51k (21k + two storage
// writes); twice that leaves room for a token that does more on transfer. Only the gas used is
// paid, but a top-up must cover limit × max fee, so it is not larger.
const FORWARD_GAS = 100_000n;

/** Where the task's tokens end up: its recipient, else the user (the guard's rule, destinationOfPolicy). */
export const destinationOf = (rt: X402Runtime): Address => destinationOfPolicy(rt.policy);

/**
 * What a task may forward to its own `destination` out of the agent's `balance`: never what is
 * still owed to another destination; for a recipient, only what is owed to it; for the user, the
 * rest too (tokens counted for no task: the user owns the wallet and every task of it).
 */
export function forwardableAmount({
  balance,
  destination,
  user,
  owed,
}: {
  balance: bigint;
  destination: Address;
  user: Address;
  /** Counted and not yet forwarded, by destination (lower-case). */
  owed: ReadonlyMap<string, bigint>;
}): bigint {
  const mine = destination.toLowerCase();
  let others = 0n;
  for (const [to, amount] of owed) if (to !== mine) others += amount;
  const free = balance > others ? balance - others : 0n;
  if (mine === user.toLowerCase()) return free;
  const own = owed.get(mine) ?? 0n;
  return free < own ? free : own;
}

/** What the agent held of the task's token at one block, and what of it was owed to each destination then. */
type Holdings = { balance: bigint; owed: Map<string, bigint> };

/**
 * The agent's holdings as of block `atBlock`: its balance, the transfers counted for the group's
 * tasks (the ledger, up to that block) and the agent's forwards (the logs, up to that block), all
 * of one block. A string when the reads of that block do not agree, and nothing may be decided
 * from them this turn:
 * - an agent transaction after that block, or still in flight: its effect is in neither;
 * - the logs do not explain the balance (balance before the group's first block + transfers in −
 *   transfers out ≠ balance at the block), or miss a transfer the ledger counted: a node behind
 *   that block answered the logs (a load-balanced RPC, or anvil while it stores the block). A
 *   transfer in the balance but not in the logs would be counted for nobody and look the user's.
 * - a read of that block failed (a node that does not have it yet).
 */
async function holdingsAt(rt: X402Runtime, group: X402DeliveryGroup, atBlock: bigint): Promise<Holdings | string> {
  const agent = rt.policy.agent;
  let balance: bigint;
  try {
    // Most turns hold nothing (the last forward sent it all): the agent's nonces only after a balance.
    const held = await balanceAt(rt, atBlock);
    if (held === 0n) return { balance: 0n, owed: new Map() };
    const [sentBy, sentPending] = await Promise.all([
      rt.client.getTransactionCount({ address: agent, blockNumber: atBlock }),
      rt.client.getTransactionCount({ address: agent, blockTag: 'pending' }),
    ]);
    if (sentBy !== sentPending) return `the agent has ${sentPending - sentBy} transaction(s) after block ${atBlock}`;
    balance = held;
  } catch (error) {
    return `reading block ${atBlock} failed (${safeChainCause(error).message})`;
  }
  const candidates = await listX402DeliveryCandidates(group);
  // No task of the group sends its tokens elsewhere than the user: every token held is the user's,
  // whatever the logs say, so they are not read (three reads a turn fewer, and a token whose
  // balance its Transfer logs do not explain, one that reflects or rebases, is forwarded all the same).
  const user = rt.policy.user.toLowerCase();
  if (candidates.every((c) => c.destination === user)) return { balance, owed: new Map() };
  const start = candidates.reduce((m, c) => (c.fromBlock < m ? c.fromBlock : m), candidates[0]!.fromBlock);
  const counted = await listX402DeliveriesByTaskIds({ taskIds: candidates.map((c) => c.taskId), toBlock: atBlock });
  let before: bigint, incoming: TokenTransfer[], outgoing: TokenTransfer[];
  try {
    [before, incoming, outgoing] = await Promise.all([
      start > 0n ? balanceAt(rt, start - 1n) : 0n,
      readTokenTransfers(rt, { to: agent }, start, atBlock),
      readTokenTransfers(rt, { from: [agent] }, start, atBlock),
    ]);
  } catch (error) {
    return `reading the token's transfers up to block ${atBlock} failed (${safeChainCause(error).message})`;
  }
  const sum = (transfers: { amount: bigint }[]) => transfers.reduce((total, t) => total + t.amount, 0n);
  if (before + sum(incoming) - sum(outgoing) !== balance)
    return `the logs up to block ${atBlock} do not explain the agent's balance ${balance} at it (a node behind that block)`;
  const seen = new Set(incoming.map((t) => `${t.txHash.toLowerCase()}:${t.logIndex}`));
  const missing = counted.find((d) => !seen.has(`${d.txHash.toLowerCase()}:${d.logIndex}`));
  if (missing)
    return `the logs up to block ${atBlock} lack the counted transfer ${missing.txHash} (a node behind that block)`;
  return { balance, owed: owedByDestination(candidates, counted, outgoing) };
}

/**
 * What a task's turn forwards, by destination (lower-case): what is owed to each other destination
 * of the group's tasks (an ended task's late tokens are counted for it while the next task of the
 * wallet runs, and only that task is there to send them on), then its own share
 * (forwardableAmount). Never more than `balance` in all.
 */
export function forwardsOf(holdings: {
  balance: bigint;
  destination: Address;
  user: Address;
  owed: ReadonlyMap<string, bigint>;
}): Array<{ to: string; amount: bigint }> {
  const mine = holdings.destination.toLowerCase();
  const out: Array<{ to: string; amount: bigint }> = [];
  let left = holdings.balance;
  for (const [to, owed] of holdings.owed) {
    const amount = owed < left ? owed : left;
    if (to === mine || amount === 0n) continue;
    out.push({ to, amount });
    left -= amount;
  }
  const own = forwardableAmount(holdings);
  if (own > 0n) out.push({ to: mine, amount: own });
  return out;
}

/**
 * Tokens counted for the group's tasks and not yet forwarded, by destination (lower-case):
 * counted arrivals minus the agent's transfers to that destination since the first of its tasks
 * began.
 */
function owedByDestination(
  candidates: X402DeliveryCandidateTo[],
  counted: X402CountedDelivery[],
  outgoing: TokenTransfer[],
): Map<string, bigint> {
  const destinationOfTask = new Map(candidates.map((c) => [c.taskId, c.destination]));
  const byDestination = new Map<string, { arrived: bigint; fromBlock: bigint }>();
  for (const c of candidates) {
    const seen = byDestination.get(c.destination);
    if (!seen || c.fromBlock < seen.fromBlock)
      byDestination.set(c.destination, { arrived: 0n, fromBlock: c.fromBlock });
  }
  for (const d of counted) byDestination.get(destinationOfTask.get(d.taskId)!)!.arrived += d.amount;
  const owed = new Map<string, bigint>();
  for (const [to, { arrived, fromBlock }] of byDestination) {
    const forwarded = outgoing
      .filter((t) => t.to.toLowerCase() === to && t.blockNumber >= fromBlock)
      .reduce((total, t) => total + t.amount, 0n);
    if (arrived > forwarded) owed.set(to, arrived - forwarded);
  }
  return owed;
}

/** The agent's balance of the task's token at a block; none before the token existed. */
async function balanceAt(rt: X402Runtime, blockNumber: bigint): Promise<bigint> {
  try {
    return await rt.client.readContract({
      address: rt.policy.token,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [rt.policy.agent],
      blockNumber,
    });
  } catch (error) {
    if (error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionZeroDataError)) return 0n;
    throw error;
  }
}

/**
 * The agent holds tokens of the task's token (an endpoint that mints to the payer): what is owed
 * to each destination as of block `atBlock` goes there (forwardsOf). Returns why nothing was
 * decided when the reads of that block do not agree (see holdingsAt): the next turn reads a newer block.
 */
export async function forwardHeldTokens(
  rt: X402Runtime,
  group: X402DeliveryGroup,
  atBlock: bigint,
): Promise<{ deferred?: string }> {
  const held = await holdingsAt(rt, group, atBlock);
  if (typeof held === 'string') return { deferred: held };
  const plan = forwardsOf({ ...held, destination: destinationOf(rt), user: rt.policy.user });
  for (const { to, amount } of plan) await forward(rt, getAddress(to), amount);
  return {};
}

const forwardsLeft = (rt: X402Runtime) =>
  Math.max(1, Math.ceil((rt.task.quantity - rt.task.mintsCompleted) / getConfig().worker.batchSize));

async function forward(rt: X402Runtime, destination: Address, amount: bigint) {
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
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [destination, amount] });
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
    throw new Error(`forwarding ${amount} of ${rt.policy.token} to ${destination} reverted (${hash})`);
  rt.reporter.tokensForwarded(rt.task, { amount, txHash: hash, to: destination });
}
