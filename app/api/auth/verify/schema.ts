import { z } from 'zod';

export const verifyBodySchema = z.object({
  message: z.string().min(1).max(4000),
  signature: z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, 'must be 0x-prefixed hex')
    .max(8000),
});
