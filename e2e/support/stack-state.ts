import { readFileSync } from 'node:fs';
import { createPublicClient, createWalletClient, http, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { localChain } from '../../lib/chain/chains';
import { paidMintTokenAbi, testUSDCAbi } from '../../lib/chain/contracts.generated';

export type StackState = {
  baseURL: string;
  rpcUrl: string;
  chainId: number;
  deployment: { usdc: Address; tokens: { address: Address; name: string; symbol: string }[] };
  /** The local x402 mint server e2e/server.ts runs (decimal strings of base units). */
  x402: { mintUrl: string; tokenAddress: Address; price: string; mintAmount: string };
};

let cached: StackState | undefined;

/** What e2e/server.ts wrote about the running stack. */
export function stackState(): StackState {
  cached ??= JSON.parse(readFileSync(process.env.E2E_STATE_FILE!, 'utf8')) as StackState;
  return cached;
}

function chain() {
  const { rpcUrl } = stackState();
  return { ...localChain, rpcUrls: { default: { http: [rpcUrl] } } };
}

export const publicClient = () => createPublicClient({ chain: chain(), transport: http(stackState().rpcUrl) });

export const demoToken = () => stackState().deployment.tokens[0]!;

export async function tokenBalance(token: Address, owner: Address): Promise<bigint> {
  return publicClient().readContract({
    address: token,
    abi: paidMintTokenAbi,
    functionName: 'balanceOf',
    args: [owner],
  });
}

export async function usdcBalance(owner: Address): Promise<bigint> {
  return publicClient().readContract({
    address: stackState().deployment.usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [owner],
  });
}

export async function mintAmountOf(token: Address): Promise<bigint> {
  return publicClient().readContract({ address: token, abi: paidMintTokenAbi, functionName: 'mintAmount' });
}

/** Moves test USDC between anvil accounts (the wallet under test never sends transactions itself). */
export async function transferUsdc(fromIndex: number, to: Address, amount: bigint) {
  const from = mnemonicToAccount('test test test test test test test test test test test junk', {
    addressIndex: fromIndex,
  });
  const wallet = createWalletClient({ account: from, chain: chain(), transport: http(stackState().rpcUrl) });
  const hash = await wallet.writeContract({
    address: stackState().deployment.usdc,
    abi: testUSDCAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await publicClient().waitForTransactionReceipt({ hash });
}

/** Pauses or unpauses a demo token as its owner (anvil account 0, the deployer). */
export async function setTokenPaused(token: Address, paused: boolean) {
  const owner = mnemonicToAccount('test test test test test test test test test test test junk', { addressIndex: 0 });
  const wallet = createWalletClient({ account: owner, chain: chain(), transport: http(stackState().rpcUrl) });
  const hash = await wallet.writeContract({
    address: token,
    abi: paidMintTokenAbi,
    functionName: paused ? 'pause' : 'unpause',
  });
  await publicClient().waitForTransactionReceipt({ hash });
}
