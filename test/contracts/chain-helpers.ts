import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  http,
  type Account,
  type Address,
  type Hash,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from 'viem';
import { localChain } from '@/lib/chain/chains';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { vrs } from './usdc-auth';

/** Viem clients on a test stack's anvil; `walletFor(account)` sends from any local account. */
export function chainClients(rpcUrl: string) {
  const chain = { ...localChain, rpcUrls: { default: { http: [rpcUrl] } } };
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 }) as PublicClient;
  const walletFor = (account: Account) => createWalletClient({ account, chain, transport: http(rpcUrl) });
  const rpc = (method: string, params: unknown[] = []) =>
    publicClient.request({ method, params } as never) as Promise<unknown>;
  return { chain, publicClient, walletFor, rpc };
}

/** A PaidMintToken mint signature (EIP-712 `Mint`) by `by`, as the (v, r, s) that mint() takes. */
export async function signMint(
  publicClient: PublicClient,
  by: LocalAccount,
  token: Address,
  message: { payer: Address; to: Address; mintId: Hex },
) {
  const name = await publicClient.readContract({ address: token, abi: paidMintTokenAbi, functionName: 'name' });
  const signature = await by.signTypedData({
    domain: { name, version: '1', chainId: 31337, verifyingContract: token },
    types: {
      Mint: [
        { name: 'payer', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'mintId', type: 'bytes32' },
      ],
    },
    primaryType: 'Mint',
    message,
  });
  return vrs(signature);
}

/** Waits for a receipt and insists the transaction succeeded. */
export async function mined(publicClient: PublicClient, hash: Hash) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

/**
 * What a call reverted with: the revert string for `require`, the custom error's name for
 * `revert Error()`. Throws when the promise does not reject with a contract revert.
 */
export async function revertOf(
  promise: Promise<unknown>,
): Promise<{ reason?: string; errorName?: string; args?: readonly unknown[] }> {
  try {
    await promise;
  } catch (error) {
    const revert =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    if (revert instanceof ContractFunctionRevertedError) {
      return { reason: revert.reason, errorName: revert.data?.errorName, args: revert.data?.args };
    }
    throw error;
  }
  throw new Error('expected the call to revert, but it succeeded');
}

export const randomNonce = () =>
  `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}` as const;
