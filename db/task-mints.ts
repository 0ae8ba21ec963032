import { asc, eq } from 'drizzle-orm';
import { getDb } from './client';
import { aiAgentMintRecords } from './schema';

/** A task's ledger as the tasks page shows it: each mint's sequence, status and transaction. */
export async function listMintSummariesByTask({ taskId }: { taskId: string }) {
  return getDb()
    .select({ sequenceNumber: aiAgentMintRecords.sequenceNumber, status: aiAgentMintRecords.status, txHash: aiAgentMintRecords.txHash })
    .from(aiAgentMintRecords)
    .where(eq(aiAgentMintRecords.taskId, taskId))
    .orderBy(asc(aiAgentMintRecords.sequenceNumber));
}
