import { getAddress, type Address } from 'viem';
import { insertTask, getTaskById } from '@/db/tasks';
import { getChain } from '@/lib/chain/clients';
import { readPaidMintToken } from '@/lib/chain/tokens';
import { getOrCreateAgentWallet } from '@/lib/wallets/agent-wallets';
import { anvilAccount } from '@/scripts/local/anvil';

/** Anvil accounts 1–9 hold 10,000 test USDC each after deployLocalContracts. */
export const user = (index: number) => anvilAccount(index);

/** Inserts a pending_payment task straight into the database (the chat path is tested elsewhere). */
export async function createPendingTask({
  userAddress,
  token,
  quantity,
}: {
  userAddress: Address;
  token: Address;
  quantity: number;
}) {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const info = await readPaidMintToken(token);
  const task = await insertTask({
    userAddress: userAddress.toLowerCase(),
    agentWalletId: wallet.id,
    chainId: getChain().id,
    tokenAddress: getAddress(token).toLowerCase(),
    quantity,
    pricePerMint: info.pricePerMint.toString(),
    totalCost: (info.pricePerMint * BigInt(quantity)).toString(),
  });
  return (await getTaskById({ id: task.id }))!;
}
