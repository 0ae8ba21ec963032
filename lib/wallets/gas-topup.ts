import { formatEther, parseEther, type Address, type Hex, type PublicClient } from 'viem';
import { reserveGasTopUp } from '@/db/task-queue';
import { getConfig } from '../config';
import { getOperatorWalletClient, getPublicClient } from '../chain/clients';
import { waitForReceipt } from '../chain/receipts';
import { classifyChainError, MintRevertError } from '../chain/revert-reasons';

// The operator pays agents' gas: when an agent holds less than AGENT_MIN_ETH (or less than the
// next batch can cost) it receives AGENT_TOPUP_ETH, never more than AGENT_MAX_TOPUP_PER_TASK_ETH
// over one task's life (tracked in gas_topped_up_wei), so a runaway task cannot drain the operator.

export type TopUp = { amountWei: bigint; txHash: Hex };

/** Sends `value` wei from the operator to `to` and returns the transaction hash. */
export type OperatorSend = (to: Address, value: bigint) => Promise<Hex>;

const viemSend: OperatorSend = (to, value) => getOperatorWalletClient().sendTransaction({ to, value });

// One operator account signs for every task of this process; sending its top-ups one at a
// time keeps them from racing each other for the same operator nonce.
let queue: Promise<unknown> = Promise.resolve();

export async function ensureAgentGas({
  taskId,
  agent,
  neededWei,
  balance: known,
  client = getPublicClient(),
  send = viemSend,
}: {
  taskId: string;
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
  const capWei = parseEther(config.agentMaxTopupPerTaskEth);
  if (!(await reserveGasTopUp({ id: taskId, amountWei, capWei }))) {
    throw new MintRevertError(
      'gas_funds',
      `The task used up its gas budget (${formatEther(capWei)} ETH, AGENT_MAX_TOPUP_PER_TASK_ETH) and the agent wallet has ${formatEther(balance)} ETH left.`,
    );
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
      if (classifyChainError(error).reason !== 'timeout') await reserveGasTopUp({ id: taskId, amountWei: -amountWei, capWei });
      throw error;
    }
  });
  queue = sent.catch(() => undefined);
  const txHash = await sent;
  const receipt = await waitForReceipt(client, txHash, config.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`gas top-up ${txHash} reverted`);
  return { amountWei, txHash };
}
