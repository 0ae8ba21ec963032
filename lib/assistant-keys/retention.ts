import { deleteAssistantKeyUsesBefore } from '@/db/assistant-keys';
import { getLogger } from '../log';

/**
 * How long a key's use log is kept. The daily cap reads only the last 24 hours and the page the
 * newest 50 uses; three months is for the owner (and an operator) looking back at what an
 * assistant did.
 */
export const USE_RETENTION_DAYS = 90;
const SWEEP_EVERY_MS = 3600_000;
let lastSweep = 0;

/** Deletes uses past the retention, at most once an hour per process and 5,000 rows at a time. */
export async function sweepOldAssistantKeyUses(now = new Date()): Promise<number> {
  if (now.getTime() - lastSweep < SWEEP_EVERY_MS) return 0;
  lastSweep = now.getTime();
  return deleteAssistantKeyUsesBefore({ before: new Date(now.getTime() - USE_RETENTION_DAYS * 86_400_000) });
}

/** The sweep beside a request, never in its way. */
export function sweepOldAssistantKeyUsesSoon() {
  sweepOldAssistantKeyUses().catch((error: unknown) =>
    getLogger().warn({ err: error instanceof Error ? error.message : String(error) }, 'assistant key use sweep failed'),
  );
}
