import { erc20Abi, type Address, type Hex } from 'viem';
import { getSql } from '@/db/client';
import type { X402Terms } from '@/db/schema';
import { getTaskById, insertTask } from '@/db/tasks';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { getOrCreateAgentWallet } from '@/lib/wallets/agent-wallets';
import { probeX402Endpoint, defaultProbeTarget, type ProbeTarget } from '@/lib/x402/probe';
import { anvilAccount } from '@/scripts/local/anvil';
import type { X402MintServer } from '@/scripts/local/x402-mint-server';
import { createWalletClient, http } from 'viem';

/** Probes `url` as task creation does (lib/x402/probe.ts) and returns the terms a task would pay. */
export async function probeTerms(url: string, userAddress: Address, overrides: Partial<X402Terms> = {}, target: Partial<ProbeTarget> = {}): Promise<X402Terms> {
  const { terms } = await probeX402Endpoint({ url, userAddress }, { ...defaultProbeTarget(), ...target });
  return { ...terms, ...overrides };
}

/**
 * Inserts a funded x402 task straight into the database (chat and funding are tested
 * elsewhere): the agent receives quantity × price of test USDC from anvil account 0 (the USDC
 * owner) and that transfer is the task's funding transaction.
 */
export async function createFundedX402Task({ userAddress, terms, quantity, token }: { userAddress: Address; terms: X402Terms; quantity: number; token: Address }) {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const price = BigInt(terms.requirement.amount);
  const total = price * BigInt(quantity);
  // The chain as it is (a v1 test runs anvil as 84532 while the app's local chain says 31337).
  const chain = { ...getChain(), id: await getPublicClient().getChainId() };
  const owner = createWalletClient({ account: anvilAccount(0), chain, transport: http(getPublicClient().transport.url as string) });
  const fundingTxHash = await owner.writeContract({ address: terms.requirement.asset as Address, abi: testUSDCAbi, functionName: 'mint', args: [wallet.agentAddress as Address, total] });
  await getPublicClient().waitForTransactionReceipt({ hash: fundingTxHash });
  const task = await insertTask({
    userAddress: userAddress.toLowerCase(),
    agentWalletId: wallet.id,
    chainId: getChain().id,
    tokenAddress: token.toLowerCase(),
    route: 'x402',
    x402: terms,
    quantity,
    pricePerMint: price.toString(),
    totalCost: total.toString(),
    status: 'funded',
    fundingTxHash,
    fundedAt: new Date(),
  });
  return (await getTaskById({ id: task.id }))!;
}

export const balanceOf = (token: Address, owner: Address) => getPublicClient().readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner] });

/** USDC the agent paid to the endpoint on chain (AuthorizationUsed transfers to payTo), by nonce. */
export async function settledOnChain(usdc: Address, agent: Address, payTo: Address) {
  const logs = await getPublicClient().getLogs({
    address: usdc,
    event: { type: 'event', name: 'Transfer', inputs: [{ name: 'from', type: 'address', indexed: true }, { name: 'to', type: 'address', indexed: true }, { name: 'value', type: 'uint256', indexed: false }] },
    args: { from: agent, to: payTo },
    fromBlock: 0n,
  });
  return { count: logs.length, total: logs.reduce((s, l) => s + (l.args.value ?? 0n), 0n), txHashes: new Set(logs.map((l) => l.transactionHash as Hex)) };
}

/**
 * The ledger equals the chain for one task: settled rows = the agent's USDC transfers to the
 * payee (same tx hashes, none twice), mints completed = settled rows, and the chain's spend
 * never above the task's funding.
 */
export async function ledgerVsChain(taskId: string, server: Pick<X402MintServer, 'usdc' | 'payTo'>) {
  const task = (await getTaskById({ id: taskId }))!;
  const rows = await listX402PaymentsByTask({ taskId });
  const settled = rows.filter((r) => r.status === 'settled');
  const chain = await settledOnChain(server.usdc, task.agentAddress as Address, server.payTo);
  return { task, rows, settled, chain, funding: BigInt(task.totalCost) };
}

export async function resetX402Tables() {
  await getSql()`delete from ai_agent_x402_payments`;
}
