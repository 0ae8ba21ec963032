import type { Address } from 'viem';
import { getPublicClient } from './clients';
import { paidMintTokenAbi } from './contracts.generated';

export type PaidMintTokenInfo = {
  address: Address;
  name: string;
  symbol: string;
  paymentToken: Address;
  pricePerMint: bigint;
  mintAmount: bigint;
  mintCount: bigint;
  maxMintCount: bigint;
  mintSigner: Address;
};

/** Reads a PaidMintToken's terms in one multicall-free batch of reads. */
export async function readPaidMintToken(address: Address): Promise<PaidMintTokenInfo> {
  const client = getPublicClient();
  const read = <
    F extends
      'name' | 'symbol' | 'paymentToken' | 'pricePerMint' | 'mintAmount' | 'mintCount' | 'maxMintCount' | 'mintSigner',
  >(
    functionName: F,
  ) => client.readContract({ address, abi: paidMintTokenAbi, functionName });
  const [name, symbol, paymentToken, pricePerMint, mintAmount, mintCount, maxMintCount, mintSigner] = await Promise.all(
    [
      read('name'),
      read('symbol'),
      read('paymentToken'),
      read('pricePerMint'),
      read('mintAmount'),
      read('mintCount'),
      read('maxMintCount'),
      read('mintSigner'),
    ],
  );
  return { address, name, symbol, paymentToken, pricePerMint, mintAmount, mintCount, maxMintCount, mintSigner };
}
