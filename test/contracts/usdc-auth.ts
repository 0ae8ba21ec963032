import { parseSignature, type Address, type Hex, type LocalAccount } from 'viem';
import type { Authorization } from '@/lib/chain/eip3009';

const authorizationFields = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

export type { Authorization };

export const usdcDomain = (usdc: Address, chainId = 31337) =>
  ({ name: 'USD Coin', version: '2', chainId, verifyingContract: usdc }) as const;

/** EIP-3009 typed data signed exactly as a browser wallet would (eth_signTypedData_v4). */
export function signAuthorization(
  signer: LocalAccount,
  usdc: Address,
  primaryType: 'TransferWithAuthorization' | 'ReceiveWithAuthorization',
  message: Authorization,
  chainId = 31337,
): Promise<Hex> {
  return signer.signTypedData({
    domain: usdcDomain(usdc, chainId),
    types: { [primaryType]: authorizationFields },
    primaryType,
    message,
  } as never);
}

export function signCancel(
  signer: LocalAccount,
  usdc: Address,
  message: { authorizer: Address; nonce: Hex },
): Promise<Hex> {
  return signer.signTypedData({
    domain: usdcDomain(usdc),
    types: {
      CancelAuthorization: [
        { name: 'authorizer', type: 'address' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'CancelAuthorization',
    message,
  });
}

/** The (v, r, s) form of a 65-byte signature, for the split-signature overloads. */
export function vrs(signature: Hex) {
  const { v, r, s, yParity } = parseSignature(signature);
  return { v: Number(v ?? BigInt(27 + yParity)), r, s };
}

/** secp256k1 group order: (r, n - s, v ^ 1) is the same signature's malleable high-s twin. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
