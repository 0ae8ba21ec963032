import { keccak256, type Hex } from 'viem';
import { paidMintTokenRuntime } from './contracts.generated';

/**
 * True when `code` (a contract's runtime code, from eth_getCode) is PaidMintToken as this
 * version of AgentMint compiles it. Its immutables (price, payment token, EIP-712 domain cache…)
 * differ per deployment, so they are zeroed at the offsets the compiler reported before the
 * hash is compared; every other byte, the metadata hash included, must match.
 */
export function isPaidMintTokenCode(code: Hex | undefined): boolean {
  const { size, codeHash, immutables } = paidMintTokenRuntime;
  if (!code || code.length !== 2 + size * 2) return false;
  let masked = code.toLowerCase();
  for (const [start, length] of immutables) {
    const from = 2 + start * 2;
    masked = masked.slice(0, from) + '0'.repeat(length * 2) + masked.slice(from + length * 2);
  }
  return keccak256(masked as Hex) === codeHash;
}
