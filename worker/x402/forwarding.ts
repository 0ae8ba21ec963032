import { encodeFunctionData, erc20Abi, type Address } from 'viem';
import { listX402DeliveryCandidates, type X402DeliveryGroup } from '@/db/x402-deliveries';
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { ensureAgentGas } from '@/lib/wallets/gas-topup';
import type { X402Runtime } from './runtime';
import { readTokenTransfers } from './token-transfers';
import { assertLease } from '../fence';

// An endpoint that mints to the payer sends the tokens to the agent, which forwards them to the
// task's destination: its recipient (an x402 sale's), else the user. One payer may buy for several
// recipients from one seller, so the agent's balance of a token can hold tokens counted for tasks
// with other destinations (a task's late tokens land while the next one runs): a task forwards
// only what is not counted for another destination. Tokens counted for no task are the user's.

// Gas limit of forwarding an ERC20: a plain transfer to a new holder takes ~51k (21k + two storage
// writes); twice that leaves room for a token that does more on transfer. Only the gas used is
// paid, but a top-up must cover limit × max fee, so it is not larger.
const FORWARD_GAS = 100_000n;

/** Where the task's tokens end up: its recipient, else the user (the only address a forward may name). */
export const destinationOf = (rt: X402Runtime): Address => rt.policy.recipient ?? rt.policy.user;

/**
 * What a task may forward to `destination` out of the agent's `balance`: never what is still owed
 * to another destination; for a recipient, only what is owed to it; for the user, the rest too
 * (tokens counted for no task: the user owns the wallet and every task of it).
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

/**
 * Tokens counted for the group's tasks and not yet forwarded, by destination: counted arrivals
 * minus the agent's transfers to that destination since the first of its tasks began. Read only
 * for the destinations the answer depends on (none but the user's: no chain read).
 */
async function owedByDestination(rt: X402Runtime, group: X402DeliveryGroup, mine: string) {
  const user = rt.policy.user.toLowerCase();
  const byDestination = new Map<string, { arrived: bigint; fromBlock: bigint }>();
  for (const c of await listX402DeliveryCandidates(group)) {
    const seen = byDestination.get(c.destination);
    byDestination.set(c.destination, {
      arrived: (seen?.arrived ?? 0n) + c.arrived,
      fromBlock: seen && seen.fromBlock < c.fromBlock ? seen.fromBlock : c.fromBlock,
    });
  }
  const owed = new Map<string, bigint>();
  for (const [to, { arrived, fromBlock }] of byDestination) {
    // The user's share matters only to a task for a recipient (the user takes what is free).
    if (arrived === 0n || (to === user && mine === user)) continue;
    const sent = await readTokenTransfers(rt, { from: [rt.policy.agent], to: to as Address }, fromBlock);
    const forwarded = sent.reduce((sum, l) => sum + l.amount, 0n);
    if (arrived > forwarded) owed.set(to, arrived - forwarded);
  }
  return owed;
}

/** The agent holds tokens of the task's token (an endpoint that mints to the payer): what is the task's destination's goes there. */
export async function forwardHeldTokens(rt: X402Runtime, group: X402DeliveryGroup) {
  const balance = await rt.client.readContract({
    address: rt.policy.token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [rt.policy.agent],
  });
  if (balance === 0n) return;
  const destination = destinationOf(rt);
  const owed = await owedByDestination(rt, group, destination.toLowerCase());
  const amount = forwardableAmount({ balance, destination, user: rt.policy.user, owed });
  if (amount > 0n) await forward(rt, amount);
}

const forwardsLeft = (rt: X402Runtime) =>
  Math.max(1, Math.ceil((rt.task.quantity - rt.task.mintsCompleted) / getConfig().worker.batchSize));

async function forward(rt: X402Runtime, amount: bigint) {
  const destination = destinationOf(rt);
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
