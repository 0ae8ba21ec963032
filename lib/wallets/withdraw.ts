import { encodeFunctionData, erc20Abi, getAddress, type Hex } from 'viem';
import { LockBusy, withUserFundingLock } from '@/db/task-funding';
import { listTasksByUser, wakeWorkers } from '@/db/tasks';
import type { AgentWallet } from '@/db/schema';
import { getWalletByUser } from '@/db/wallets';
import { getChain, getKnownContracts, getPublicClient } from '../chain/clients';
import { MintRevertError } from '../chain/revert-reasons';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { unlockAgentAccount } from './agent-wallets';
import { ensureAgentGas } from './gas-topup';
import { createGuardedSigner } from './tx-guard';
import { withWalletLock } from './wallet-lock';
import { readWalletAmounts } from './wallet-view';

/**
 * Sends the agent wallet's refundable USDC (balance minus what active tasks still need, see
 * sumReservedUsdcByWallet) to the user's own address — the only recipient the transaction
 * guard allows. `amount` defaults to everything refundable and may never exceed it.
 *
 * Two locks, taken in this order, make it safe against the two other movers of this wallet:
 *  - the user's funding lock (the one fundTask holds from submitting the authorization to
 *    marking the task funded): a payment arriving for a task is never seen as refundable;
 *  - the agent wallet's advisory lock, which the worker's claim also tries (and skips a wallet
 *    it cannot take): while it is held no task of this wallet can start, and under it a task
 *    already processing (any lease, even an expired one: its transactions may be in flight)
 *    refuses the withdrawal with 409. So at most one sender signs for an agent at any time and
 *    nonces cannot collide. Refusing rather than waiting: a task may run for minutes, and the
 *    user can withdraw what is left once it ends.
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
  try {
    return await withUserFundingLock(
      userAddress,
      () => withWalletLock(wallet.id, () => withdrawLocked(wallet, amount)),
      {
        waitMs: getConfig().worker.receiptTimeoutMs + 15_000,
        connections: 3, // the funding lock's, the wallet lock's, and one query at a time inside
      },
    );
  } catch (error) {
    if (error instanceof LockBusy)
      throw new AppError(
        'conflict:withdraw',
        'A payment for one of your tasks is still being confirmed; withdraw once it is.',
      );
    throw error;
  } finally {
    // A task the worker skipped while the wallet was locked can start now (the poll would find it too).
    await wakeWorkers(wallet.id).catch(() => undefined);
  }
}

async function withdrawLocked(
  wallet: AgentWallet,
  amount: bigint | undefined,
): Promise<{ txHash: Hex; amount: bigint }> {
  const userAddress = wallet.userAddress;
  const user = getAddress(userAddress);
  const agent = getAddress(wallet.agentAddress);
  const usdc = getKnownContracts().usdc;
  // The worker signs with consecutive nonces while a task runs; a withdrawal in between would
  // take one of them. Checked under the wallet lock, so no claim can slip in after the check.
  const running = await listTasksByUser({ userAddress, limit: 1, status: ['processing'] });
  if (running.length) {
    throw new AppError(
      'conflict:withdraw',
      'A task is minting with this wallet right now; withdraw once it has finished or been cancelled.',
    );
  }
  const { refundable, reserved, usdcBalance } = await readWalletAmounts(wallet.id, agent);
  if (refundable === 0n) {
    throw new AppError(
      'conflict:withdraw',
      `Nothing to withdraw: the wallet holds ${usdcBalance} and active tasks need ${reserved} (base units).`,
    );
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
  try {
    await ensureAgentGas({ userAddress, agent, neededWei: gasLimit * fees.maxFeePerGas, client });
  } catch (error) {
    if (error instanceof MintRevertError) throw new AppError('conflict:withdraw', error.message);
    throw error;
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
  const txHash = await client.sendRawTransaction({ serializedTransaction: raw });
  const receipt = await client.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== 'success')
    throw new AppError('unavailable:withdraw', `The withdrawal ${txHash} reverted on chain.`);
  return { txHash, amount: value };
}
