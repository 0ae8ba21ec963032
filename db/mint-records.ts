import { and, asc, eq, inArray } from 'drizzle-orm';
import { getDb, getSql } from './client';
import { aiAgentMintRecords, type MintRecord } from './schema';

// The mint ledger: one row per (task, sequence number), written before its transaction is
// broadcast. A row is `signed` (written, maybe not sent), `sent`, `confirmed` (minted on chain)
// or `failed` (reverted or dropped; its mintId is unused and will be re-signed, same sequence).

export class LeaseLostError extends Error {
  constructor(taskId: string) {
    super(`lease on task ${taskId} was lost; stopping without signing`);
    this.name = 'LeaseLostError';
  }
}

export type SignedMint = {
  sequenceNumber: number;
  mintId: string;
  nonce: number;
  txHash: string;
  rawTransaction: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
};

export async function listMintRecordsByTask({ taskId }: { taskId: string }): Promise<MintRecord[]> {
  return getDb().select().from(aiAgentMintRecords).where(eq(aiAgentMintRecords.taskId, taskId)).orderBy(asc(aiAgentMintRecords.sequenceNumber));
}

/** Rows that were signed or sent but not settled: what the reconciler checks against the chain. */
export async function listOpenMintRecordsByTask({ taskId }: { taskId: string }): Promise<MintRecord[]> {
  return getDb()
    .select()
    .from(aiAgentMintRecords)
    .where(and(eq(aiAgentMintRecords.taskId, taskId), inArray(aiAgentMintRecords.status, ['signed', 'sent'])))
    .orderBy(asc(aiAgentMintRecords.nonce));
}

/** The sequence numbers the next batch should sign: failed ones first (same mintId), then new. */
export async function listNextSequencesByTask({ taskId, quantity, limit }: { taskId: string; quantity: number; limit: number }) {
  const sql = getSql();
  const failed = await sql<{ seq: number }[]>`
    select sequence_number as seq from ai_agent_mint_records
    where task_id = ${taskId} and status = 'failed' order by sequence_number limit ${limit}`;
  const seqs = failed.map((r) => r.seq);
  const [row] = await sql<{ top: number }[]>`
    select coalesce(max(sequence_number), 0)::int as top from ai_agent_mint_records where task_id = ${taskId}`;
  for (let seq = (row?.top ?? 0) + 1; seqs.length < limit && seq <= quantity; seq++) seqs.push(seq);
  return seqs;
}

/**
 * Writes a batch of signed mints in one transaction that first locks the task row and checks
 * this worker still holds its lease: a worker that lost its lease can never add a transaction
 * the next owner does not see. A failed row is reused for its re-signed mint (same mintId);
 * a confirmed or open row is never overwritten.
 */
export async function writeSignedMints({ taskId, workerId, mints }: { taskId: string; workerId: string; mints: SignedMint[] }) {
  await getSql().begin(async (tx) => {
    const owned = await tx`
      select id from ai_agent_tasks
      where id = ${taskId} and locked_by = ${workerId} and status = 'processing' and locked_until > now()
      for update`;
    if (owned.length === 0) throw new LeaseLostError(taskId);
    for (const m of mints) {
      const written = await tx`
        insert into ai_agent_mint_records
          (task_id, sequence_number, mint_id, nonce, tx_hash, raw_transaction, max_fee_per_gas, max_priority_fee_per_gas, status)
        values (${taskId}, ${m.sequenceNumber}, ${m.mintId}, ${m.nonce}, ${m.txHash}, ${m.rawTransaction},
                ${m.maxFeePerGas.toString()}, ${m.maxPriorityFeePerGas.toString()}, 'signed')
        on conflict (task_id, sequence_number) do update set
          nonce = excluded.nonce, tx_hash = excluded.tx_hash, raw_transaction = excluded.raw_transaction,
          max_fee_per_gas = excluded.max_fee_per_gas, max_priority_fee_per_gas = excluded.max_priority_fee_per_gas,
          status = 'signed', sent_at = null, created_at = now()
        where ai_agent_mint_records.status = 'failed'
        returning id`;
      if (written.length === 0) throw new Error(`mint ${m.sequenceNumber} of task ${taskId} is already signed or confirmed`);
    }
  });
}

export async function markMintsSent({ taskId, txHashes }: { taskId: string; txHashes: string[] }) {
  if (txHashes.length === 0) return;
  await getSql()`
    update ai_agent_mint_records set status = 'sent', sent_at = now()
    where task_id = ${taskId} and status = 'signed' and tx_hash in ${getSql()(txHashes)}`;
}

/** A stuck transaction's replacement (same nonce and mintId, higher fees), stored before it is sent. */
export async function replaceMintTransaction({
  taskId,
  sequenceNumber,
  txHash,
  rawTransaction,
  maxFeePerGas,
  maxPriorityFeePerGas,
}: {
  taskId: string;
  sequenceNumber: number;
  txHash: string;
  rawTransaction: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}) {
  const rows = await getSql()`
    update ai_agent_mint_records set tx_hash = ${txHash}, raw_transaction = ${rawTransaction},
      max_fee_per_gas = ${maxFeePerGas.toString()}, max_priority_fee_per_gas = ${maxPriorityFeePerGas.toString()},
      error = coalesce(error || '; ', '') || 'replaced stuck transaction'
    where task_id = ${taskId} and sequence_number = ${sequenceNumber} and status in ('signed', 'sent')
    returning id`;
  return rows.length === 1;
}
