import { z } from 'zod';

/** `amount` in USDC base units as a decimal string; omitted = everything refundable. */
export const withdrawBodySchema = z.object({
  amount: z
    .string()
    .regex(/^[1-9]\d{0,30}$/, 'must be a positive whole number of base units as a decimal string')
    .optional(),
});
