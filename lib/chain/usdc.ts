import type { Address } from 'viem';
import { getChain, getKnownContracts, getPublicClient } from './clients';
import { testUSDCAbi } from './contracts.generated';

export type UsdcDomain = { name: string; version: string; chainId: number; verifyingContract: Address };

let cached: Promise<UsdcDomain> | undefined;

/**
 * USDC's EIP-712 domain as the chain says it (Base Sepolia's USDC is named "USDC", Base's
 * "USD Coin"); only the contract address comes from configuration.
 */
export function getUsdcDomain(): Promise<UsdcDomain> {
  cached ??= readDomain().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function readDomain(): Promise<UsdcDomain> {
  const address = getKnownContracts().usdc;
  const client = getPublicClient();
  const [name, version, chainId] = await Promise.all([
    client.readContract({ address, abi: testUSDCAbi, functionName: 'name' }),
    client.readContract({ address, abi: testUSDCAbi, functionName: 'version' }),
    client.getChainId(),
  ]);
  if (chainId !== getChain().id) throw new Error(`RPC chain id ${chainId} is not the configured ${getChain().id}`);
  return { name, version, chainId, verifyingContract: address };
}

export async function getUsdcBalance(account: Address): Promise<bigint> {
  return getPublicClient().readContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [account],
  });
}
