import { encodeFunctionData, erc20Abi, parseAbiItem, type Address, type Hex } from 'viem';
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { ensureAgentGas } from '@/lib/wallets/gas-topup';
import type { X402Runtime } from './runtime';
import { assertLease } from '../fence';

// Tokens end with the user. An endpoint that takes a recipient mints to the user directly; one
// that mints to the payer mints to the agent, which forwards everything it received of the
// task's token after each batch, late (queued) arrivals included. A mint of such a task is done
// once it is paid and its tokens were forwarded: the number of token transfers the agent
// received since the task was funded, read before the forward, bounds the count.

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
const FORWARD_GAS = 100_000n;

const fromBlocks = new Map<string, bigint>();

async function fundedAtBlock(rt: X402Runtime): Promise<bigint> {
  const cached = fromBlocks.get(rt.task.id);
  if (cached !== undefined) return cached;
  let block = 0n;
  if (rt.task.fundingTxHash) {
    const receipt = await rt.client
      .getTransactionReceipt({ hash: rt.task.fundingTxHash as Hex })
      .catch(() => undefined);
    block = receipt?.blockNumber ?? 0n;
  }
  fromBlocks.set(rt.task.id, block);
  return block;
}

/** Mints of the task whose tokens reached the user, given `paid` settled payments. */
export async function deliverTokens(rt: X402Runtime, paid: number): Promise<number> {
  if (rt.terms.mintsToUser) return paid;
  const token = rt.policy.token;
  const agent = rt.policy.agent;
  const fromBlock = await fundedAtBlock(rt);
  // Arrivals first, then the balance: every arrival counted is in the balance forwarded below.
  const arrivals = await rt.client.getLogs({ address: token, event: transferEvent, args: { to: agent }, fromBlock });
  const balance = await rt.client.readContract({
    address: token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [agent],
  });
  if (balance > 0n) await forward(rt, balance);
  return Math.min(paid, arrivals.filter((l) => !l.removed).length);
}

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
    client: rt.client,
  });
  if (topUp) rt.reporter.gasToppedUp(rt.task, topUp.amountWei, topUp.txHash);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [rt.policy.user, amount] });
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
    throw new Error(`forwarding ${amount} of ${rt.policy.token} to the user reverted (${hash})`);
  rt.reporter.tokensForwarded(rt.task, { amount, txHash: hash });
}
