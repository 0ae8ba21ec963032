import { createWalletClient, http, type Address } from 'viem';
import type { X402Terms } from '@/db/schema';
import { getTaskById, insertTask } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { getOrCreateAgentWallet } from '@/lib/wallets/agent-wallets';
import { defaultProbeTarget, probeX402Endpoint, type ProbeTarget } from '@/lib/x402/probe';
import { anvilAccount } from '@/scripts/local/anvil';

/**
 * Probes `url` as task creation does (lib/x402/probe.ts) and returns the terms a task would pay.
 * One mint per payment unless `target.mintsPerPayment` says otherwise: the shape, hostile and
 * crash tests count payments as mints; test/x402/worker-quantity.test.ts buys several per payment.
 */
export async function probeTerms(
  url: string,
  userAddress: Address,
  overrides: Partial<X402Terms> = {},
  target: Partial<ProbeTarget> = {},
): Promise<X402Terms> {
  const { terms } = await probeX402Endpoint(
    { url, userAddress },
    { ...defaultProbeTarget(), mintsPerPayment: 1, ...target },
  );
  return { ...terms, ...overrides };
}

/**
 * Inserts a funded x402 task straight into the database (chat and funding are tested
 * elsewhere): the agent receives quantity × price of test USDC from anvil account 0 (the USDC
 * owner) and that transfer is the task's funding transaction.
 */
export async function createFundedX402Task({
  userAddress,
  terms,
  quantity,
  token,
}: {
  userAddress: Address;
  terms: X402Terms;
  quantity: number;
  token: Address;
}) {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const price = BigInt(terms.requirement.amount);
  const total = price * BigInt(quantity);
  // The chain as it is (a v1 test runs anvil as 84532 while the app's local chain says 31337).
  const chain = { ...getChain(), id: await getPublicClient().getChainId() };
  const owner = createWalletClient({
    account: anvilAccount(0),
    chain,
    transport: http(getPublicClient().transport.url as string),
  });
  const fundingTxHash = await owner.writeContract({
    address: terms.requirement.asset as Address,
    abi: testUSDCAbi,
    functionName: 'mint',
    args: [wallet.agentAddress as Address, total],
  });
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
