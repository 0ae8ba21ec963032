import { encodeFunctionData, erc20Abi, getAddress, type Address, type Hex } from 'viem';
import { listTasksByUser } from '@/db/tasks';
import { getWalletByUser } from '@/db/wallets';
import { getChain, getKnownContracts, getOperatorWalletClient, getPublicClient } from '../chain/clients';
import { AppError } from '../errors';
import { unlockAgentAccount } from './agent-wallets';
import { createGuardedSigner } from './tx-guard';
import { withWalletLock } from './wallet-lock';
import { readWalletAmounts } from './wallet-view';

/**
 * Makes sure `agent` can pay `gasWei`; if not, the operator sends the shortfall plus the same
 * again as margin (a few cents of ETH on Base) and waits for it to land.
 */
export async function ensureAgentGas(agent: Address, gasWei: bigint): Promise<Hex | undefined> {
  const client = getPublicClient();
  const balance = await client.getBalance({ address: agent });
  if (balance >= gasWei) return undefined;
  const hash = await getOperatorWalletClient().sendTransaction({ to: agent, value: gasWei * 2n - balance, chain: getChain() });
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`gas top-up ${hash} reverted`);
  return hash;
}

/**
 * Sends the agent wallet's refundable USDC (balance minus what funded/processing tasks still
 * need) to the user's own address — the only recipient the transaction guard allows.
 * `amount` defaults to everything refundable and may never exceed it.
 */
export async function withdrawRefundable({ userAddress, amount }: { userAddress: string; amount?: bigint }): Promise<{ txHash: Hex; amount: bigint }> {
  const wallet = await getWalletByUser({ userAddress });
  if (!wallet) throw new AppError('conflict:withdraw', 'Nothing to withdraw: this address has no agent wallet yet.');
  // The worker signs with consecutive nonces while a task runs; a withdrawal in between would
  // take one of them. Waiting for the batch to finish is cheap, a stuck mint queue is not.
  const running = await listTasksByUser({ userAddress, limit: 1, status: ['processing'] });
  if (running.length) {
    throw new AppError('conflict:withdraw', 'A task is minting with this wallet right now; withdraw once it has finished or been cancelled.');
  }
  const user = getAddress(userAddress);
  const agent = getAddress(wallet.agentAddress);
  const usdc = getKnownContracts().usdc;

  return withWalletLock(wallet.id, async () => {
    const { refundable, reserved, usdcBalance } = await readWalletAmounts(wallet.id, agent);
    if (refundable === 0n) {
      throw new AppError('conflict:withdraw', `Nothing to withdraw: the wallet holds ${usdcBalance} and active tasks need ${reserved} (base units).`);
    }
    const value = amount ?? refundable;
    if (value > refundable) {
      throw new AppError('conflict:withdraw', `At most ${refundable} can be withdrawn; active tasks need the rest.`, {
        details: { refundableUsdc: refundable.toString() },
      });
    }

    const client = getPublicClient();
    const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [user, value] });
    const [gas, fees] = await Promise.all([client.estimateGas({ account: agent, to: usdc, data }), client.estimateFeesPerGas()]);
    const gasLimit = (gas * 12n) / 10n;
    await ensureAgentGas(agent, gasLimit * fees.maxFeePerGas);

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
    if (receipt.status !== 'success') throw new AppError('unavailable:withdraw', `The withdrawal ${txHash} reverted on chain.`);
    return { txHash, amount: value };
  });
}
