import { getAddress, isAddress, isAddressEqual } from 'viem';
import { z } from 'zod';
import { HEX_ADDRESS } from '@/lib/hex';

// Lower-case is accepted as is; mixed case must carry a valid EIP-55 checksum (a typo otherwise).
const address = (field: string) =>
  z
    .string({ error: `${field} must be a 0x-prefixed 20-byte address` })
    .regex(HEX_ADDRESS, `${field} must be a 0x-prefixed 20-byte address`)
    .refine((a) => isAddress(a, { strict: true }), `${field} has an invalid EIP-55 checksum`)
    .transform((a) => getAddress(a));

/**
 * The body of POST /api/x402/mint, as the 402's bazaar extension declares it (lib/x402-seller/discovery.ts).
 * The payer is named up front (the 402's payTo is its own agent wallet). Tokens go to `recipient`
 * or, without one, to the payer, whether bought by token or by url; `{token | url, quantity,
 * recipient}` alone names the payer too.
 */
export const saleBodySchema = z
  .object({
    token: address('token').optional(),
    url: z
      .url({ protocol: /^https?$/, error: 'url must be an http(s) URL' })
      .max(2048)
      .optional(),
    quantity: z.number({ error: 'quantity must be a whole number' }).int('quantity must be a whole number'),
    payer: address('payer').optional(),
    recipient: address('recipient').optional(),
  })
  .strict()
  .refine((b) => b.token || b.url, {
    error: 'Say what to mint: token (a PaidMintToken address) or url (an x402 mint endpoint).',
  })
  .refine((b) => b.payer || b.recipient, {
    error:
      'Say who pays: payer, the wallet that signs the x402 payment (its own agent wallet is paid, and the tokens go to it).',
    path: ['payer'],
  })
  .transform(({ recipient, payer, ...rest }) => ({
    ...rest,
    payer: (payer ?? recipient)!,
    recipient: payer && recipient && !isAddressEqual(recipient, payer) ? recipient : undefined,
  }));

export type SaleBody = z.infer<typeof saleBodySchema>;
