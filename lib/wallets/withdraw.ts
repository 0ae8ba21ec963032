import { encodeFunctionData, erc20Abi, getAddress, type Address, type Hex } from 'viem';
import { sumHeldForRetryByWallet } from '@/db/refunds';
import { listSubmittedFundingTxsByUser, LockBusy, withUserFundingLock } from '@/db/task-funding';
import { listTasksByUser, wakeWorkers } from '@/db/tasks';
import type { AgentWallet } from '@/db/schema';
import { getWalletByUser } from '@/db/wallets';
import { getChain, getKnownContracts, getOperatorWalletClient, getPublicClient } from '../chain/clients';
import { withOperatorNonce } from '../chain/operator-send';
import { waitForReceipt } from '../chain/receipts';
import { MintRevertError } from '../chain/revert-reasons';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { unlockAgentAccount } from './agent-wallets';
import { reserveTopUp, sendReservedTopUp, TOP_UP_GAS, topUpAmount } from './gas-topup';
import { createGuardedSigner } from './tx-guard';
import { AgentBusy, awaitAgentIdle, withWalletLock } from './wallet-lock';
import { readWalletAmounts } from './wallet-view';

// A withdrawal takes the two locks only to check and send, never across a block: it leaves them
// to wait for what blocks it (a funding transfer on its way, the agent's own transaction, the gas
// top-up it sent) and for its own receipt, then looks again. Turns are few: one to send, and one
// more per thing it had to wait for.
const MAX_TURNS = 4;

/**
 * Sends the agent wallet's refundable USDC (balance minus what active tasks still need, see
 * sumReservedUsdcByWallet) to the user's own address — the only recipient the transaction
 * guard allows. `amount` defaults to everything refundable and may never exceed it. The
 * withdraw route's and the assistant's call; the worker's automatic refund after a task
 * (refund.ts) is the same code, refundToUser.
 */
export async function withdrawRefundable({
  userAddress,
  amount,
}: {
  userAddress: string;
  amount?: bigint;
}): Promise<{ txHash: Hex; amount: bigint }> {
  const wallet = await getWalletByUser({ userAddress });
  if (!wallet) throw new AppError('conflict:withdraw', 'Nothing to withdraw: this address has no agent wallet yet.');
  const outcome = await refundToUser(wallet, { amount, lockWaitMs: 15_000 });
  if ('refused' in outcome) throw new AppError('conflict:withdraw', outcome.message);
  return outcome;
}

export type RefundOutcome =
  { txHash: Hex; amount: bigint } | { refused: 'nothing' | 'processing' | 'busy'; message: string };

/**
 * The one refund path: sends `amount` (default: all that is refundable, less what failed tasks
 * hold for their retries when `keepForRetries`) of the
 * agent's USDC to its user, through the transaction guard, and waits for the receipt.
 * A refusal (nothing refundable, a task minting with the wallet, the wallet still busy after a
 * few turns) is an answer, not an error; an `amount` above what is refundable throws.
 *
 * Two locks, taken in this order, make it safe against the two other movers of this wallet:
 *  - the user's funding lock (the one fundTask holds from its checks to recording the transfer
 *    it submits on the task): a funding transfer still being mined is waited for, so a payment
 *    arriving for a task is never seen as refundable;
 *  - the agent wallet's lock (wallet-lock.ts), which the worker's claim also tries (and skips a
 *    wallet it cannot take): while it is held no task of this wallet can start, and under it a
 *    task already processing (any lease, even an expired one: its transactions may be in flight)
 *    refuses the refund, and an agent transaction still unmined (an earlier refund's) is waited
 *    for. So at most one sender signs for an agent at any time and nonces cannot collide, and
 *    the balance read under the locks already lacks every refund sent before: a refund sent by a
 *    process killed before it could record anything is seen on chain (in flight, or mined) and
 *    never sent twice. Refusing rather than waiting: a task may run for minutes, and the user can
 *    withdraw what is left once it ends.
 */
export async function refundToUser(
  wallet: AgentWallet,
  { amount, keepForRetries = false, lockWaitMs }: { amount?: bigint; keepForRetries?: boolean; lockWaitMs: number },
): Promise<RefundOutcome> {
  const agent = getAddress(wallet.agentAddress);
  const client = getPublicClient();
  const { receiptTimeoutMs } = getConfig().worker;
  try {
    for (let turn = 1; ; turn++) {
      const step = await withUserFundingLock(
        wallet.userAddress,
        () => withdrawLocked(wallet, { amount, keepForRetries }),
        {
          waitMs: lockWaitMs,
          connections: 3, // the funding lock's, the wallet lock's, and one query at a time inside
        },
      );
      if ('txHash' in step) return await confirmed(step, receiptTimeoutMs);
      if ('refused' in step) return step;
      if (turn >= MAX_TURNS) return busy;
      if ('fundingTx' in step) {
        const mined = await waitForReceipt(client, step.fundingTx, receiptTimeoutMs).then(
          () => true,
          () => false,
        );
        if (!mined) return busy;
      } else if ('agentBusy' in step) {
        if (!(await awaitAgentIdle(agent, receiptTimeoutMs))) return busy;
      } else if (!(await awaitAgentGas(agent, step.gasArriving, receiptTimeoutMs))) {
        return busy;
      }
    }
  } catch (error) {
    if (error instanceof LockBusy) return busy;
    // The gas budget refused the top-up: the user's 24-hour budget is spent.
    if (error instanceof MintRevertError) throw new AppError('conflict:withdraw', error.message);
    throw error;
  } finally {
    // A task the worker skipped while the wallet was locked can start now (the poll would find it too).
    await wakeWorkers(wallet.id).catch(() => undefined);
  }
}

const busy = {
  refused: 'busy',
  message: 'A payment, gas top-up or withdrawal of your agent wallet is still being confirmed; withdraw once it is.',
} as const;

type Step =
  | { txHash: Hex; amount: bigint }
  | { fundingTx: Hex }
  | { agentBusy: true }
  | { gasArriving: bigint }
  | Extract<RefundOutcome, { refused: string }>;

type Ask = { amount: bigint | undefined; keepForRetries: boolean };

/** Waits, holding nothing, until the agent's mined balance covers `neededWei`; false after `timeoutMs`. */
async function awaitAgentGas(agent: Address, neededWei: bigint, timeoutMs: number): Promise<boolean> {
  const client = getPublicClient();
  const deadline = Date.now() + timeoutMs;
  while (topUpAmount({ neededWei, balance: await client.getBalance({ address: agent }) }) !== undefined) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(client.pollingInterval, 250)));
  }
  return true;
}

async function confirmed(sent: { txHash: Hex; amount: bigint }, timeoutMs: number) {
  let receipt;
  try {
    receipt = await waitForReceipt(getPublicClient(), sent.txHash, timeoutMs);
  } catch (error) {
    throw new AppError(
      'unavailable:withdraw',
      `The withdrawal ${sent.txHash} is sent but not confirmed yet; your wallet view shows it once it is mined.`,
      { cause: error, details: { txHash: sent.txHash } },
    );
  }
  if (receipt.status !== 'success')
    throw new AppError('unavailable:withdraw', `The withdrawal ${sent.txHash} reverted on chain.`);
  return sent;
}

/** Under the user's funding lock: what the withdrawal waits for, or its transfer, sent. */
async function withdrawLocked(wallet: AgentWallet, ask: Ask): Promise<Step> {
  for (const hash of await listSubmittedFundingTxsByUser({ userAddress: wallet.userAddress })) {
    const client = getPublicClient();
    const mined = await client.getTransactionReceipt({ hash: hash as Hex }).catch(() => undefined);
    // Unmined and known to the node: its USDC may land any moment. Dropped: it stays reserved.
    if (!mined && (await client.getTransaction({ hash: hash as Hex }).catch(() => undefined)))
      return { fundingTx: hash as Hex };
  }
  if (await isProcessing(wallet.userAddress)) return processing;
  try {
    return await withWalletLock(wallet, () => sendLocked(wallet, ask));
  } catch (error) {
    if (error instanceof AgentBusy) return { agentBusy: true };
    throw error;
  }
}

// The worker signs with consecutive nonces while a task runs; a withdrawal in between would
// take one of them. Checked again under the wallet lock, so no claim can slip in after the check.
const isProcessing = async (userAddress: string) =>
  (await listTasksByUser({ userAddress, limit: 1, status: ['processing'] })).length > 0;

const processing = {
  refused: 'processing',
  message: 'A task is minting with this wallet right now; withdraw once it has finished or been cancelled.',
} as const;

async function sendLocked(wallet: AgentWallet, { amount, keepForRetries }: Ask): Promise<Step> {
  const userAddress = wallet.userAddress;
  const user = getAddress(userAddress);
  const agent = getAddress(wallet.agentAddress);
  const usdc = getKnownContracts().usdc;
  if (await isProcessing(userAddress)) return processing;
  // Read under the locks with the rest: a task still processing before them may have failed
  // since, and is then in neither what active tasks reserve nor what failed ones keep.
  const [amounts, keep] = await Promise.all([
    readWalletAmounts(wallet.id, agent),
    keepForRetries ? sumHeldForRetryByWallet({ agentWalletId: wallet.id }) : 0n,
  ]);
  const { reserved, usdcBalance, ethBalance } = amounts;
  const refundable = amounts.refundable > keep ? amounts.refundable - keep : 0n;
  if (refundable === 0n) {
    return {
      refused: 'nothing',
      message: `Nothing to withdraw: the wallet holds ${usdcBalance} and active tasks need ${reserved} (base units)${keep ? `, ${keep} kept for failed tasks' retries` : ''}.`,
    };
  }
  const value = amount ?? refundable;
  if (value > refundable) {
    throw new AppError('conflict:withdraw', `At most ${refundable} can be withdrawn; active tasks need the rest.`, {
      details: { refundableUsdc: refundable.toString() },
    });
  }

  const client = getPublicClient();
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [user, value] });
  const [gas, fees] = await Promise.all([
    client.estimateGas({ account: agent, to: usdc, data }),
    client.estimateFeesPerGas(),
  ]);
  const gasLimit = (gas * 12n) / 10n;
  const neededWei = gasLimit * fees.maxFeePerGas;
  // Gas for this transfer and one more: a user who withdraws part and then the rest (or both at
  // once) waits for one top-up, not two. What is left over goes back with the wallet's next sweep.
  const amountWei = topUpAmount({ neededWei, wantedWei: 2n * neededWei, balance: ethBalance });
  if (amountWei !== undefined) {
    // Short of gas. The operator's top-up is sent here, under the locks, and mined after them; a
    // withdrawal that comes meanwhile finds it on its way (the node's pending balance) and waits
    // for it instead of paying twice.
    const arriving = await client.getBalance({ address: agent, blockTag: 'pending' });
    if (topUpAmount({ neededWei, balance: arriving }) !== undefined) {
      const reservation = await reserveTopUp({ userAddress, agent, amountWei, balance: ethBalance });
      await sendReservedTopUp(reservation, () =>
        withOperatorNonce((nonce) =>
          getOperatorWalletClient().sendTransaction({ to: agent, value: amountWei, nonce, gas: TOP_UP_GAS }),
        ),
      );
    }
    return { gasArriving: neededWei };
  }

  const signer = createGuardedSigner(unlockAgentAccount(wallet), { agent, user, usdc, chainId: getChain().id });
  const nonce = await client.getTransactionCount({ address: agent, blockTag: 'pending' });
  const raw = await signer.signTransaction({
    type: 'eip1559',
    chainId: getChain().id,
    to: usdc,
    data,
    value: 0n,
    nonce,
    gas: gasLimit,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
  });
  return { txHash: await client.sendRawTransaction({ serializedTransaction: raw }), amount: value };
}
