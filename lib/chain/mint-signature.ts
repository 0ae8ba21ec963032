import {
  domainSeparator,
  encodeFunctionData,
  getAbiItem,
  isAddressEqual,
  keccak256,
  toFunctionSelector,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
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

const MINT_TYPEHASH = keccak256(toHex('Mint(address payer,address to,bytes32 mintId)'));
/** `mint(address,bytes32,uint8,bytes32,bytes32)`'s selector. */
export const MINT_SELECTOR = toFunctionSelector(getAbiItem({ abi: paidMintTokenAbi, name: 'mint' }));

/** An address or a small number as one ABI word (hex, no 0x). */
const word = (value: Address | number) =>
  (typeof value === 'number' ? value.toString(16) : value.slice(2).toLowerCase()).padStart(64, '0');
const isWord = (hex: Hex) => hex.length === 66;

/**
 * The EIP-712 digest of `Mint(payer, to, mintId)`, what viem's `hashTypedData` computes, with
 * the domain separator hashed once per token instead of once per mint (the test checks both agree).
 */
export function mintDigest(
  separator: Hex,
  { payer, to, mintId }: { payer: Address; to: Address; mintId: Hex },
  hash: (data: Hex) => Hex = keccak256,
): Hex {
  const struct = hash(`${MINT_TYPEHASH}${word(payer)}${word(to)}${mintId.slice(2)}`);
  return hash(`0x1901${separator.slice(2)}${struct.slice(2)}`);
}

/** How the worker plugs in faster signing and hashing (native-crypto.ts); viem's by default. */
export type SigningBackend = { toAccount: (privateKey: Hex) => PrivateKeyAccount; keccak256: (data: Hex) => Hex };
const viemBackend: SigningBackend = { toAccount: privateKeyToAccount, keccak256 };

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
  token: { address: Address; name?: string; chainId: number },
  backend: SigningBackend = viemBackend,
): Promise<MintAuthorizer> {
  // The token's name (its EIP-712 domain) is read alongside the signer unless the caller knows it.
  const [signer, name] = await Promise.all([
    client.readContract({ address: token.address, abi: paidMintTokenAbi, functionName: 'mintSigner' }),
    token.name ?? client.readContract({ address: token.address, abi: paidMintTokenAbi, functionName: 'name' }),
  ]);
  const account = getMintSignerAccounts(backend.toAccount).find((a) => isAddressEqual(a.address, signer));
  if (!account) {
    throw new MintRevertError('bad_signature', `AgentMint holds no key for this token's mint signer ${signer}.`);
  }
  return authorizerFor(account, { ...token, name }, backend.keccak256);
}

export function authorizerFor(
  account: PrivateKeyAccount,
  token: { address: Address; name: string; chainId: number },
  hash: (data: Hex) => Hex = keccak256,
): MintAuthorizer {
  const separator = domainSeparator({
    domain: { name: token.name, version: '1', chainId: token.chainId, verifyingContract: token.address },
  });
  return {
    signer: account.address,
    async sign({ payer, to, mintId }) {
      // r ‖ s ‖ v, v = 27 or 28 (viem's `sign` and ours both put it so).
      const signature = await account.sign({ hash: mintDigest(separator, { payer, to, mintId }, hash) });
      const v = Number.parseInt(signature.slice(130, 132), 16);
      return { r: `0x${signature.slice(2, 66)}`, s: `0x${signature.slice(66, 130)}`, v: v < 27 ? v + 27 : v };
    },
  };
}

/**
 * The `mint(to, mintId, v, r, s)` call data, what `encodeFunctionData` returns: all five are
 * one static word each, so it is a concatenation (once per mint in the worker's hot path).
 */
export function encodeMintCall(to: Address, mintId: Hex, { v, r, s }: MintAuthorization): Hex {
  if (!isWord(mintId) || !isWord(r) || !isWord(s) || !Number.isInteger(v) || v < 0 || v > 255)
    return encodeFunctionData({ abi: paidMintTokenAbi, functionName: 'mint', args: [to, mintId, v, r, s] });
  return `${MINT_SELECTOR}${word(to)}${mintId.slice(2).toLowerCase()}${word(v)}${r.slice(2).toLowerCase()}${s.slice(2).toLowerCase()}`;
}
