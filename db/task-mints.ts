import { asc, eq, sql } from 'drizzle-orm';
import { getDb } from './client';
import { aiAgentMintRecords } from './schema';

function buildQuery(db: ReturnType<typeof getDb>) {
  return db
    .select({
      sequenceNumber: aiAgentMintRecords.sequenceNumber,
      status: aiAgentMintRecords.status,
      txHash: aiAgentMintRecords.txHash,
    })
    .from(aiAgentMintRecords)
    .where(eq(aiAgentMintRecords.taskId, sql.placeholder('taskId')))
    .orderBy(asc(aiAgentMintRecords.sequenceNumber))
    .prepare('mint_summaries_by_task');
}

// Prepared once per pool: GET /task/:id runs this on every read (see bench:api).
const preparedByDb = new WeakMap<object, ReturnType<typeof buildQuery>>();

/** A task's ledger as the tasks page shows it: each mint's sequence, status and transaction. */
export async function listMintSummariesByTask({ taskId }: { taskId: string }) {
  const db = getDb();
  let query = preparedByDb.get(db);
  if (!query) preparedByDb.set(db, (query = buildQuery(db)));
  return query.execute({ taskId });
}
