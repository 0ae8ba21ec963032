import { getAddress, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { getWalletByUser, insertWalletIfAbsent } from '@/db/wallets';
import type { AgentWallet } from '@/db/schema';
import { getKeys, reloadKeys } from '../key-file';
import { registerLogSecret } from '../log';
import { AgentKeyVault } from './key-vault';

let vault: AgentKeyVault | undefined;

export function getVault(): AgentKeyVault {
  vault ??= new AgentKeyVault(getKeys(), reloadKeys);
  return vault;
}

/**
 * The user's agent wallet, created on first need. Concurrent first calls race on the unique
 * user_address; the loser's freshly generated key is dropped and everyone gets the winner's row.
 */
export async function getOrCreateAgentWallet(userAddress: Address | string): Promise<AgentWallet> {
  const existing = await getWalletByUser({ userAddress });
  if (existing) return existing;
  const privateKey = generatePrivateKey();
  const agentAddress = privateKeyToAccount(privateKey).address;
  return insertWalletIfAbsent({
    userAddress,
    agentAddress,
    encryptedPrivateKey: getVault().encrypt(privateKey, { agent: agentAddress, owner: userAddress }),
  });
}

/** What a wallet's key is sealed to: its agent address and the user who owns it. */
export const bindingOf = (wallet: Pick<AgentWallet, 'agentAddress' | 'userAddress'>) => ({
  agent: wallet.agentAddress,
  owner: wallet.userAddress,
});

/**
 * The signing account of an agent wallet. Only the process that signs calls this, right before
 * signing; callers pass it to the transaction guard, never to a log or a response.
 */
export function unlockAgentAccount(
  wallet: AgentWallet,
  toAccount: (privateKey: `0x${string}`) => PrivateKeyAccount = privateKeyToAccount,
): PrivateKeyAccount {
  const privateKey = getVault().decrypt(wallet.encryptedPrivateKey, bindingOf(wallet));
  // Teach the log scrubber this key, so even a mistaken log line carrying it is redacted.
  registerLogSecret(privateKey);
  const account = toAccount(privateKey);
  if (account.address.toLowerCase() !== wallet.agentAddress.toLowerCase()) {
    throw new Error(`agent key does not match wallet ${getAddress(wallet.agentAddress)}`);
  }
  return account;
}
