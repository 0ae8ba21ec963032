import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import { HEX_ADDRESS, HEX_WORD } from '@/lib/hex';

// Lower-case is accepted as is; mixed case must carry a valid EIP-55 checksum (a typo otherwise).
const address = (field: string) =>
  z
    .string({ error: `${field} must be a 0x-prefixed 20-byte address` })
    .regex(HEX_ADDRESS, `${field} must be a 0x-prefixed 20-byte address`)
    .refine((a) => isAddress(a, { strict: true }), `${field} has an invalid EIP-55 checksum`)
    .transform((a) => getAddress(a));

/** uint256 amounts travel as decimal strings: a JS number would lose precision above 2^53. */
const baseUnits = z
  .string({ error: 'value must be a decimal string of USDC base units, e.g. "1000000" for 1 USDC' })
  .regex(/^\d{1,78}$/, 'value must be a decimal string of USDC base units (digits only)')
  .transform((v) => BigInt(v));

/** Unix time in seconds, as a JSON number or a decimal string (what viem's typed data gives). */
const seconds = (field: string) =>
  z
    .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/)], {
      error: `${field} must be a whole number of seconds (a number or a decimal string)`,
    })
    .transform((v) => BigInt(v));

export const authorizationSchema = z
  .object({
    from: address('from'),
    to: address('to'),
    value: baseUnits,
    validAfter: seconds('validAfter'),
    validBefore: seconds('validBefore'),
    nonce: z
      .string({ error: 'nonce must be 0x followed by 64 hex digits (32 bytes)' })
      .regex(HEX_WORD, 'nonce must be 0x followed by 64 hex digits (32 bytes)')
      .transform((n) => n.toLowerCase() as `0x${string}`),
  })
  .strict();

// 65 bytes for an EOA; longer signatures are parsed here and allowed later only for a contract
// wallet (ERC-1271), whose signature format is its own. 4 KB of hex bounds the work.
export const fundBodySchema = z.object({
  authorization: authorizationSchema,
  signature: z
    .string({ error: 'signature must be 0x-prefixed hex of 65 bytes (130 hex digits)' })
    .regex(/^0x(?:[0-9a-fA-F]{2}){65,4096}$/, 'signature must be 0x-prefixed hex of 65 bytes (130 hex digits)')
    .transform((s) => s.toLowerCase() as `0x${string}`),
});

export type FundBody = z.infer<typeof fundBodySchema>;
export type AuthorizationInput = z.infer<typeof authorizationSchema>;
