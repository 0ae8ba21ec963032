import { formatEther, parseEther, type Address, type Hex, type PublicClient } from 'viem';
import { recordGasTopUpTx, releaseGasTopUp, reserveGasTopUp } from '@/db/gas-topups';
import { getConfig } from '../config';
import { getOperatorWalletClient, getPublicClient } from '../chain/clients';
import { waitForReceipt } from '../chain/receipts';
import { classifyChainError, MintRevertError } from '../chain/revert-reasons';
import { getLogger } from '../log';

// The operator pays agents' gas: when an agent holds less than AGENT_MIN_ETH (or less than the
// next batch can cost) it receives AGENT_TOPUP_ETH, never more than AGENT_MAX_TOPUP_PER_TASK_ETH
// over one task's life (tracked in gas_topped_up_wei) and never more than
// USER_MAX_TOPUP_PER_DAY_ETH per user over 24 hours, all their tasks and withdrawals together
// (agent_gas_topups), so neither a runaway task nor a user creating many cannot drain the operator.

export type TopUp = { amountWei: bigint; txHash: Hex };

/** Sends `value` wei from the operator to `to` and returns the transaction hash. */
export type OperatorSend = (to: Address, value: bigint) => Promise<Hex>;

const viemSend: OperatorSend = (to, value) => getOperatorWalletClient().sendTransaction({ to, value });

// One operator account signs for every task of this process; sending its top-ups one at a
// time keeps them from racing each other for the same operator nonce.
let queue: Promise<unknown> = Promise.resolve();

export async function ensureAgentGas({
  userAddress,
  taskId,
  agent,
  neededWei,
  balance: known,
  client = getPublicClient(),
  send = viemSend,
}: {
  /** Whose budget pays: the agent wallet's owner. */
  userAddress: string;
  /** The task it is for; none for a withdrawal (then only the daily budget applies). */
  taskId?: string;
  agent: Address;
  neededWei: bigint;
  /** The agent's balance if the caller already read it (saves a round trip per batch). */
  balance?: bigint;
  /** Where the balance and the receipt are read; the app's public client by default. */
  client?: PublicClient;
  /** How the operator's transfer is sent; viem's wallet client by default (the worker has a leaner one). */
  send?: OperatorSend;
}): Promise<TopUp | undefined> {
  const config = getConfig().worker;
  const minimum = parseEther(config.agentMinEth);
  const want = neededWei > minimum ? neededWei : minimum;
  const balance = known ?? (await client.getBalance({ address: agent }));
  if (balance >= want) return undefined;

  const standard = parseEther(config.agentTopupEth);
  const amountWei = want - balance > standard ? want - balance : standard;
  const taskCapWei = parseEther(config.agentMaxTopupPerTaskEth);
  const dayCapWei = parseEther(config.userMaxTopupPerDayEth);
  const reserved = await reserveGasTopUp({ userAddress, taskId, amountWei, taskCapWei, dayCapWei });
  if (!reserved.ok) {
    const message =
      reserved.limit === 'task'
        ? `The task used up its gas budget (${formatEther(taskCapWei)} ETH, AGENT_MAX_TOPUP_PER_TASK_ETH) and the agent wallet has ${formatEther(balance)} ETH left.`
        : `Your gas budget for the last 24 hours is used up (${formatEther(reserved.spentWei)} of ${formatEther(dayCapWei)} ETH, USER_MAX_TOPUP_PER_DAY_ETH); retry the task later.`;
    getLogger().warn({ taskId, agent, userAddress, limit: reserved.limit, spentWei: reserved.spentWei.toString(), amountWei: amountWei.toString() }, 'gas top-up refused: budget spent');
    throw new MintRevertError('gas_budget', message);
  }
  // Only the sends queue up: the node's pending nonce already counts a top-up that was sent
  // and not yet mined, so the next one may go out before that receipt; the receipts are
  // awaited side by side (20 tasks starting at once no longer wait for 20 receipts in a row).
  const sent = queue.then(async () => {
    try {
      return await send(agent, amountWei);
    } catch (error) {
      // Refused before broadcast (nonce race, node down): give the budget back. A timeout may
      // have been sent, so it stays counted.
      if (classifyChainError(error).reason !== 'timeout') await releaseGasTopUp({ id: reserved.id, taskId, amountWei });
      throw error;
    }
  });
  queue = sent.catch(() => undefined);
  const txHash = await sent;
  await recordGasTopUpTx({ id: reserved.id, txHash });
  const receipt = await waitForReceipt(client, txHash, config.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`gas top-up ${txHash} reverted`);
  return { amountWei, txHash };
}
