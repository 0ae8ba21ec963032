import type { Address, Hex } from 'viem';
import { releaseGasTopUp } from '@/db/gas-topups';
import type { TaskWithAgent } from '@/db/tasks';
import { getChain, getOperatorAccount, getPublicClient } from '../chain/clients';
import { batchSizeFor, feesOf, quoteFees, type Fees } from '../chain/fees';
import { MintRevertError } from '../chain/revert-reasons';
import { getConfig } from '../config';
import { getLogger } from '../log';
import {
  contractBatchGasWei,
  contractTaskGasWei,
  reserveTopUp,
  sendReservedTopUp,
  TOP_UP_GAS,
  topUpAmount,
  type TopUpReservation,
} from '../wallets/gas-topup';

// A contract task's first gas top-up goes out with its funding transfer, on the operator's next
// nonce, so both land in one block when the node takes both before sealing it: the worker that
// claims the task finds the gas there and starts its first batch at once, instead of spending a
// block (2 s on Base) on a top-up. Sized, capped and recorded exactly as the worker's own
// (lib/wallets/gas-topup.ts). Whatever goes wrong with it only costs that block back: the worker
// tops up as it always did when the gas is short.
//
// x402 tasks get none here. Their agent needs gas only to forward tokens from an endpoint that
// mints to the payer (none at all when tokens go to the user), and the first forward comes after
// the first batch of payments has settled on chain, seconds after the start. The worker can send
// that top-up in the background when such a task starts and the forward finds it mined; today
// worker/x402/delivery.ts tops up right before the forward, which costs such a task one block.

export type EarlyTopUp = TopUpReservation & { fees: Fees };

export type EarlyTopUpInputs = { balance: bigint; maxFeePerGas: bigint; baseFee: bigint; fees: Fees };

/**
 * The agent's ETH and the fees now, read while the funding is checked; none when the task's agent
 * needs no gas or the node cannot say. The balance is the lower of the mined and the pending one:
 * a sweep of the wallet still unmined (lib/wallets/sweep.ts) is ETH that is leaving.
 */
export async function readEarlyTopUpInputs(task: TaskWithAgent): Promise<EarlyTopUpInputs | undefined> {
  if (task.route !== 'contract' || !getConfig().worker.earlyGasTopUp) return undefined;
  const client = getPublicClient();
  const agent = task.agentAddress as Address;
  try {
    const [quote, mined, pending] = await Promise.all([
      quoteFees(client, { maxFeeGwei: getConfig().worker.maxFeeGwei }),
      client.getBalance({ address: agent }),
      client.getBalance({ address: agent, blockTag: 'pending' }),
    ]);
    const balance = pending < mined ? pending : mined;
    return { balance, maxFeePerGas: quote.maxFeePerGas, baseFee: quote.baseFee, fees: feesOf(quote) };
  } catch (error) {
    getLogger().warn({ taskId: task.id, err: String(error) }, 'no early gas top-up: fees or balance unreadable');
    return undefined;
  }
}

/**
 * Sizes the top-up the worker's first turn would send (the whole task's gas at today's fees, see
 * topUpAmount) and reserves it against the task's and the user's budgets. None when the agent has
 * enough, or a budget refuses (the worker then meets the same refusal and fails the task with its
 * message, as without this). Never throws.
 */
export async function reserveEarlyTopUp(
  task: TaskWithAgent,
  inputs: EarlyTopUpInputs | undefined,
): Promise<EarlyTopUp | undefined> {
  if (!inputs) return undefined;
  const config = getConfig().worker;
  const remaining = task.quantity - task.mintsCompleted;
  const batchMints = batchSizeFor(config, { remaining, baseFee: inputs.baseFee });
  const neededWei = contractBatchGasWei({ batchMints, remaining, maxFeePerGas: inputs.maxFeePerGas });
  const wantedWei = contractTaskGasWei({ remaining, maxFeePerGas: inputs.maxFeePerGas });
  const amountWei = topUpAmount({ neededWei, wantedWei, balance: inputs.balance });
  if (amountWei === undefined) return undefined;
  const agent = task.agentAddress as Address;
  try {
    const reservation = await reserveTopUp({
      userAddress: task.userAddress,
      taskId: task.id,
      agent,
      amountWei,
      minWei: neededWei - inputs.balance,
      balance: inputs.balance,
    });
    return { ...reservation, fees: inputs.fees };
  } catch (error) {
    // Refused (logged; the worker will say why), or the database failed: the funding goes on without it.
    if (!(error instanceof MintRevertError))
      getLogger().warn({ taskId: task.id, err: String(error) }, 'no early gas top-up: reservation failed');
    return undefined;
  }
}

export type EarlyTopUpSend = { txHash: Hex } | { error: unknown };

/**
 * Signs a reserved early top-up for `nonce` and returns how to broadcast it. Signed before the
 * funding transfer is sent, so the top-up follows it by one request, not the several a wallet
 * client makes (chain id, fees), and rarely misses its block. Under the operator's nonce lock it
 * touches no database (the holder of the funding lock may hold one connection more, not two).
 * Neither step throws.
 */
export async function prepareEarlyTopUp(topUp: EarlyTopUp, nonce: number): Promise<() => Promise<EarlyTopUpSend>> {
  let raw: Hex;
  try {
    raw = await getOperatorAccount().signTransaction({
      type: 'eip1559',
      chainId: getChain().id,
      to: topUp.agent,
      value: topUp.amountWei,
      nonce,
      gas: TOP_UP_GAS,
      ...topUp.fees,
    });
  } catch (error) {
    return async () => ({ error });
  }
  return async () => {
    try {
      return { txHash: await getPublicClient().sendRawTransaction({ serializedTransaction: raw }) };
    } catch (error) {
      return { error };
    }
  };
}

/** After the lock: records the early top-up's hash in the ledger, or gives its budget back when it was not sent. Never throws: the funding must not fail for it. */
export async function recordEarlyTopUp(topUp: EarlyTopUp, sent: EarlyTopUpSend): Promise<void> {
  try {
    await sendReservedTopUp(topUp, async () => {
      if ('error' in sent) throw sent.error;
      return sent.txHash;
    });
    if ('txHash' in sent)
      getLogger().info(
        { taskId: topUp.taskId, txHash: sent.txHash, amountWei: topUp.amountWei.toString() },
        'early gas top-up sent with the funding',
      );
  } catch (error) {
    getLogger().warn({ taskId: topUp.taskId, err: String(error) }, 'early gas top-up not sent; the worker will top up');
  }
}

/** The funding transfer was not sent, so neither was its top-up: give the budget back. */
export async function releaseEarlyTopUp(topUp: EarlyTopUp | undefined) {
  if (topUp) await releaseGasTopUp({ id: topUp.id, taskId: topUp.taskId, amountWei: topUp.amountWei });
}
