import { formatEther, parseEther, type Address, type Hex, type PublicClient } from 'viem';
import { getLatestGasTopUpByTask, recordGasTopUpTx, releaseGasTopUp, reserveGasTopUp } from '@/db/gas-topups';
import { getConfig } from '../config';
import { getOperatorWalletClient, getPublicClient } from '../chain/clients';
import { withOperatorNonce } from '../chain/operator-send';
import { waitForReceipt } from '../chain/receipts';
import { classifyChainError, MintRevertError, TransientChainError } from '../chain/revert-reasons';
import { getLogger } from '../log';

// The operator pays agents' gas. A top-up is sized from what the gas will cost: when an agent
// cannot pay for its next transactions it receives what the rest of its task needs (estimated gas
// × the current max fee × TOP_UP_MARGIN, at most AGENT_TOPUP_ETH at once unless the next
// transactions alone need more), never more than AGENT_MAX_TOPUP_PER_TASK_ETH over one
// task's life (gas_topped_up_wei) and never more than USER_MAX_TOPUP_PER_DAY_ETH per user over
// 24 hours net of what sweeps gave back (db/gas-topups.ts), so neither a runaway task nor a user
// creating many can drain the operator. What the agent does not burn goes back to the operator
// once the wallet is idle (lib/wallets/sweep.ts). A contract task's first top-up is sent by the
// fund route beside the funding transfer (lib/funding/), with these same rules; the worker tops up
// only what that one left short.

export type TopUp = { amountWei: bigint; txHash: Hex };

/** Sends `value` wei from the operator to `to` and returns the transaction hash. */
export type OperatorSend = (to: Address, value: bigint) => Promise<Hex>;

/**
 * Gas limit of a top-up: 40,000, not 21,000. An agent that delegates to AgentBatchExecutor
 * (EIP-7702) runs its receive() on a transfer (~24k on anvil); only the gas used is paid.
 */
export const TOP_UP_GAS = 40_000n;

/** What a mint is assumed to cost in gas until the worker has estimated one (it sizes the first top-up). */
export const MINT_GAS_ESTIMATE = 200_000n;

/**
 * Wei a contract task's agent needs before a batch of `batchMints`: that batch plus one mint's
 * worth (the approval). When batches will be pipelined, the next one's too: the pipeline then
 * refills ahead in the background while the first is on the chain, instead of the second
 * waiting for a top-up's receipt. The worker and the fund route size the first top-up by this.
 * `batchGas` is the gas limit `mints` mints take in `batches` transactions as they will be signed,
 * the approval included: `gasPerMint` each and one more by default; EIP-7702 batches have their
 * own (delegatedBatchGas, worker/contract/runtime.ts).
 */
export function contractBatchGasWei({
  batchMints,
  remaining,
  maxFeePerGas,
  gasPerMint = MINT_GAS_ESTIMATE,
  batchGas = (mints) => gasPerMint * BigInt(mints + 1),
}: {
  batchMints: number;
  remaining: number;
  maxFeePerGas: bigint;
  gasPerMint?: bigint;
  batchGas?: (mints: number, batches: number) => bigint;
}): bigint {
  const config = getConfig().worker;
  const pipelined = config.mintIntervalMs === 0 && config.pipelineDepth > 1;
  const gasFor = pipelined ? Math.min(2 * batchMints, remaining) : batchMints;
  return batchGas(gasFor, Math.ceil(gasFor / Math.max(batchMints, 1))) * maxFeePerGas;
}

/**
 * Top-ups carry 25% over the gas they are for: the base fee can rise 12.5% a full block, and the
 * max fee a quote asks (2 × base fee + tip) then still covers two such blocks before the last
 * transaction the top-up pays for, with no second top-up. Cheap to be generous: the sweep brings
 * back what is not burnt.
 */
export const TOP_UP_MARGIN_PERCENT = 125n;

/** Wei the rest of a contract task can need: every remaining mint at `gasPerMint` and one more for the approval, at `maxFeePerGas`. */
export function contractTaskGasWei({
  remaining,
  maxFeePerGas,
  gasPerMint = MINT_GAS_ESTIMATE,
}: {
  remaining: number;
  maxFeePerGas: bigint;
  gasPerMint?: bigint;
}): bigint {
  return gasPerMint * maxFeePerGas * BigInt(Math.max(remaining, 0) + 1);
}

/**
 * How much to send an agent holding `balance`: none while it can pay `neededWei` (its next
 * transactions), else what brings it to `wantedWei` (the rest of its task; at least `neededWei`)
 * × TOP_UP_MARGIN_PERCENT, cut to `capWei` (AGENT_TOPUP_ETH) but never below `neededWei`. One
 * top-up per task, not one per batch, in the common case; a task too big for one capped top-up
 * gets another when the first is burnt.
 */
export function topUpAmount({
  neededWei,
  wantedWei = neededWei,
  balance,
  capWei = parseEther(getConfig().worker.agentTopupEth),
}: {
  neededWei: bigint;
  wantedWei?: bigint;
  balance: bigint;
  capWei?: bigint;
}): bigint | undefined {
  if (balance >= neededWei) return undefined;
  const wanted = ((wantedWei > neededWei ? wantedWei : neededWei) * TOP_UP_MARGIN_PERCENT) / 100n;
  const ceiling = capWei > neededWei ? capWei : neededWei;
  return (wanted < ceiling ? wanted : ceiling) - balance;
}

export type TopUpReservation = { id: string; userAddress: string; taskId?: string; agent: Address; amountWei: bigint };

/**
 * Counts a top-up against the task's and the user's budgets before it is sent. The reservation
 * may be smaller than `amountWei` (what the budgets still allow), never below `minWei` (default:
 * all of it); throws `gas_budget` when the budgets cannot give that much.
 */
export async function reserveTopUp(
  r: Omit<TopUpReservation, 'id'> & { balance: bigint; minWei?: bigint },
): Promise<TopUpReservation> {
  const config = getConfig().worker;
  const taskCapWei = parseEther(config.agentMaxTopupPerTaskEth);
  const dayCapWei = parseEther(config.userMaxTopupPerDayEth);
  const reserved = await reserveGasTopUp({
    userAddress: r.userAddress,
    taskId: r.taskId,
    amountWei: r.amountWei,
    minWei: r.minWei,
    taskCapWei,
    dayCapWei,
  });
  if (!reserved.ok) {
    const message =
      reserved.limit === 'task'
        ? `The task used up its gas budget (${formatEther(taskCapWei)} ETH, AGENT_MAX_TOPUP_PER_TASK_ETH) and the agent wallet has ${formatEther(r.balance)} ETH left.`
        : `Your gas budget for the last 24 hours is used up (${formatEther(reserved.spentWei)} of ${formatEther(dayCapWei)} ETH, USER_MAX_TOPUP_PER_DAY_ETH); retry the task later.`;
    getLogger().warn(
      {
        taskId: r.taskId,
        agent: r.agent,
        userAddress: r.userAddress,
        limit: reserved.limit,
        spentWei: reserved.spentWei.toString(),
        amountWei: r.amountWei.toString(),
      },
      'gas top-up refused: budget spent',
    );
    throw new MintRevertError('gas_budget', message);
  }
  return {
    id: reserved.id,
    userAddress: r.userAddress,
    taskId: r.taskId,
    agent: r.agent,
    amountWei: reserved.amountWei,
  };
}

/**
 * Sends a reserved top-up and records its hash. Refused before broadcast (nonce race, node
 * down): the budget is given back. A timeout may have been sent, so it stays counted.
 */
export async function sendReservedTopUp(reservation: TopUpReservation, send: () => Promise<Hex>): Promise<Hex> {
  let txHash: Hex;
  try {
    txHash = await send();
  } catch (error) {
    if (classifyChainError(error).reason !== 'timeout')
      await releaseGasTopUp({ id: reservation.id, taskId: reservation.taskId, amountWei: reservation.amountWei });
    throw error;
  }
  await recordGasTopUpTx({ id: reservation.id, txHash });
  return txHash;
}

const viemSend =
  (client: PublicClient): OperatorSend =>
  (to, value) =>
    withOperatorNonce(
      (nonce) => getOperatorWalletClient().sendTransaction({ to, value, nonce, gas: TOP_UP_GAS }),
      client,
    );

export async function ensureAgentGas({
  userAddress,
  taskId,
  agent,
  neededWei,
  wantedWei,
  balance: known,
  inFlightWei = 0n,
  noTopUpInFlight = false,
  client = getPublicClient(),
  send = viemSend(client),
}: {
  /** Whose budget pays: the agent wallet's owner. */
  userAddress: string;
  /** The task it is for; none for a withdrawal (then only the daily budget applies). */
  taskId?: string;
  agent: Address;
  neededWei: bigint;
  /** What the rest of the task needs (topUpAmount); `neededWei` when the caller cannot tell. */
  wantedWei?: bigint;
  /** The agent's balance if the caller already read it (saves a round trip per batch). */
  balance?: bigint;
  /**
   * What the agent's transactions already sent may still spend (a pipeline's batches not yet
   * mined): set aside from the balance, as given and as read again here after a top-up in flight.
   */
  inFlightWei?: bigint;
  /**
   * The caller knows that no earlier top-up of the task can be on its way, nor mined after it
   * read `balance` (the worker: the task had none when claimed, and each one its run sent was
   * mined before it read the balance again): the ledger need not be asked for one.
   */
  noTopUpInFlight?: boolean;
  /** Where the balance and the receipt are read; the app's public client by default. */
  client?: PublicClient;
  /** How the operator's transfer is sent (under the operator's nonce lock); viem's wallet client by default (the worker has a leaner one). */
  send?: OperatorSend;
}): Promise<TopUp | undefined> {
  const free = (held: bigint) => (held > inFlightWei ? held - inFlightWei : 0n);
  let balance = free(known ?? (await client.getBalance({ address: agent })));
  let amountWei = topUpAmount({ neededWei, wantedWei, balance });
  if (amountWei === undefined) return undefined;
  // Short, but a top-up of this task may still be on its way (the fund route's, or one of a run
  // that crashed): wait for it rather than pay twice, then look again.
  if (taskId && !noTopUpInFlight && (await awaitTopUpInFlight({ userAddress, taskId, client }))) {
    balance = free(await client.getBalance({ address: agent }));
    amountWei = topUpAmount({ neededWei, wantedWei, balance });
    if (amountWei === undefined) return undefined;
  }
  // The budgets may allow less than the rest of the task wants, but never less than the next transactions need.
  const reservation = await reserveTopUp({
    userAddress,
    taskId,
    agent,
    amountWei,
    minWei: neededWei - balance,
    balance,
  });
  const txHash = await sendReservedTopUp(reservation, () => send(agent, reservation.amountWei));
  const receipt = await waitForReceipt(client, txHash, getConfig().worker.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`gas top-up ${txHash} reverted`);
  return { amountWei: reservation.amountWei, txHash };
}

/**
 * Waits for the task's latest top-up if the node still holds it unmined; true when the caller
 * should read the balance again (it waited, or the top-up is recent enough to be newer than the read).
 * A top-up that was dropped, or that is not mined within RECEIPT_TIMEOUT_MS, is not waited
 * for again: the caller sends a new one.
 */
const RECENT_TOP_UP_MS = 60_000;

async function awaitTopUpInFlight({
  userAddress,
  taskId,
  client,
}: {
  userAddress: string;
  taskId: string;
  client: PublicClient;
}): Promise<boolean> {
  const latest = await getLatestGasTopUpByTask({ userAddress, taskId });
  if (!latest?.txHash) return false;
  const hash = latest.txHash as Hex;
  const mined = await client.getTransactionReceipt({ hash }).catch(() => undefined);
  // Mined: the caller's balance already holds it, unless it was mined just after that read.
  if (mined) return Date.now() - latest.createdAt.getTime() < RECENT_TOP_UP_MS;
  const pending = await client.getTransaction({ hash }).catch(() => undefined);
  if (!pending) return false;
  try {
    await waitForReceipt(client, hash, getConfig().worker.receiptTimeoutMs);
  } catch (error) {
    if (!(error instanceof TransientChainError) || error.reason !== 'timeout') throw error;
    getLogger().warn({ taskId, txHash: hash }, 'earlier gas top-up still unmined; sending another');
  }
  return true;
}
