import { isAddressEqual, parseSignature, type Address, type Hex, type PublicClient } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { getMintSignerAccounts } from './clients';
import { paidMintTokenAbi } from './contracts.generated';
import { MintRevertError } from './revert-reasons';

export const MINT_TYPES = {
  Mint: [
    { name: 'payer', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'mintId', type: 'bytes32' },
  ],
} as const;

export type MintAuthorization = { v: number; r: Hex; s: Hex };

export type MintAuthorizer = {
  signer: Address;
  sign(args: { payer: Address; to: Address; mintId: Hex }): Promise<MintAuthorization>;
};

/**
 * Signs PaidMintToken's `Mint(payer, to, mintId)` typed data with whichever of our keys is the
 * token's current `mintSigner()`. Read from the chain each time a task starts, so a rotated
 * signer is picked up without a restart.
 */
export async function createMintAuthorizer(
  client: PublicClient,
  token: { address: Address; name: string; chainId: number },
): Promise<MintAuthorizer> {
  const signer = await client.readContract({ address: token.address, abi: paidMintTokenAbi, functionName: 'mintSigner' });
  const account = getMintSignerAccounts().find((a) => isAddressEqual(a.address, signer));
  if (!account) {
    throw new MintRevertError('bad_signature', `AgentMint holds no key for this token's mint signer ${signer}.`);
  }
  return authorizerFor(account, token);
}

export function authorizerFor(account: PrivateKeyAccount, token: { address: Address; name: string; chainId: number }): MintAuthorizer {
  const domain = { name: token.name, version: '1', chainId: token.chainId, verifyingContract: token.address } as const;
  return {
    signer: account.address,
    async sign({ payer, to, mintId }) {
      const signature = await account.signTypedData({ domain, types: MINT_TYPES, primaryType: 'Mint', message: { payer, to, mintId } });
      const { r, s, v, yParity } = parseSignature(signature);
      return { r, s, v: Number(v ?? 27n + BigInt(yParity ?? 0)) };
    },
  };
}
