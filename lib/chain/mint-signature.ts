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
import type { Keccak256 } from './mint-id';
import { MintRevertError } from './revert-reasons';
import { HEX_ADDRESS, HEX_WORD } from '../hex';

export const MINT_TYPES = {
  Mint: [
    { name: 'payer', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'mintId', type: 'bytes32' },
  ],
} as const;

const MINT_TYPEHASH = Buffer.from(keccak256(toHex('Mint(address payer,address to,bytes32 mintId)')).slice(2), 'hex');
/** `mint(address,bytes32,uint8,bytes32,bytes32)`'s selector. */
export const MINT_SELECTOR = toFunctionSelector(getAbiItem({ abi: paidMintTokenAbi, name: 'mint' }));
const MINT_SELECTOR_BYTES = Buffer.from(MINT_SELECTOR.slice(2), 'hex');

// Both encodings below run once or twice per mint in the worker, so they write their words into
// one Buffer: the padded, lowercased hex strings they replace allocated ~1.3 KB more per mint.

/** `hex`, an address or a 32-byte word as `pattern` says, written at byte `at`: Buffer's codec would stop silently at a bad digit. */
function put(out: Buffer, at: number, hex: Hex, pattern: RegExp) {
  if (!pattern.test(hex)) throw new Error(`not ${pattern === HEX_ADDRESS ? 'an address' : '32 bytes of hex'}: ${hex}`);
  out.write(hex.slice(2), at, 'hex');
}

/**
 * The EIP-712 digest of `Mint(payer, to, mintId)`, what viem's `hashTypedData` computes, with
 * the domain separator hashed once per token instead of once per mint (the test checks both agree).
 */
export function mintDigest(
  separator: Hex,
  { payer, to, mintId }: { payer: Address; to: Address; mintId: Hex },
  hash: Keccak256 = keccak256,
): Hex {
  // abi.encode(typehash, payer, to, mintId): addresses right-aligned in their words.
  const struct = Buffer.alloc(128);
  MINT_TYPEHASH.copy(struct, 0);
  put(struct, 44, payer, HEX_ADDRESS);
  put(struct, 76, to, HEX_ADDRESS);
  put(struct, 96, mintId, HEX_WORD);
  // 0x1901 ‖ domain separator ‖ struct hash
  const message = Buffer.alloc(66);
  message.writeUInt16BE(0x1901, 0);
  put(message, 2, separator, HEX_WORD);
  put(message, 34, hash(struct), HEX_WORD);
  return hash(message);
}

/** How the worker plugs in faster signing and hashing (native-crypto.ts); viem's by default. */
export type SigningBackend = { toAccount: (privateKey: Hex) => PrivateKeyAccount; keccak256: Keccak256 };
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
  hash: Keccak256 = keccak256,
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
  if (
    !HEX_ADDRESS.test(to) ||
    !HEX_WORD.test(mintId) ||
    !HEX_WORD.test(r) ||
    !HEX_WORD.test(s) ||
    !Number.isInteger(v) ||
    v < 0 ||
    v > 255
  )
    return encodeFunctionData({ abi: paidMintTokenAbi, functionName: 'mint', args: [to, mintId, v, r, s] });
  const out = Buffer.alloc(4 + 5 * 32);
  MINT_SELECTOR_BYTES.copy(out, 0);
  put(out, 16, to, HEX_ADDRESS);
  put(out, 36, mintId, HEX_WORD);
  out[99] = v;
  put(out, 100, r, HEX_WORD);
  put(out, 132, s, HEX_WORD);
  return `0x${out.toString('hex')}`;
}
