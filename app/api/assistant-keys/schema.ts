import { z } from 'zod';
import { ASSISTANT_KEY_SCOPES } from '@/lib/assistant-keys/scopes';
import { MAX_EXPIRY_DAYS } from '@/lib/assistant-keys/keys';

/** A new assistant key: a name to recognise it by, what it may do, its daily cap and lifetime. */
export const createKeyBodySchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(60, 'must be at most 60 characters'),
  scopes: z
    .array(z.enum(ASSISTANT_KEY_SCOPES))
    .min(1, 'choose at least one of read, create, cancel, withdraw')
    .max(ASSISTANT_KEY_SCOPES.length),
  /** USDC as a decimal string ("25", "0.5"): the most the key may commit to new tasks per 24 hours. */
  dailyCapUsdc: z
    .string()
    .regex(/^\d{1,7}(\.\d{1,6})?$/, 'must be a USDC amount such as "25" or "0.5" (at most 6 decimals)'),
  expiresInDays: z
    .number()
    .int('must be a whole number of days')
    .min(1, 'must be at least 1 day')
    .max(MAX_EXPIRY_DAYS, `must be at most ${MAX_EXPIRY_DAYS} days`)
    .default(30),
});
