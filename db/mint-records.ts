import { asc, eq } from 'drizzle-orm';
import { getDb, getSql } from './client';
import { aiAgentMintRecords, type MintRecord } from './schema';
import {
  recordMintProgress,
  selectProgressNotifying,
  settleMintsCtes,
  type ConfirmedMint,
  type FailedMint,
  type NotifiedProgress,
  type TaskProgress,
} from './task-queue';

// The mint ledger: one row per (task, sequence number), written before its transaction is
// broadcast. A row is `signed` (written, maybe not sent), `sent`, `confirmed` (minted on chain)
// or `failed` (reverted or dropped; its mintId is unused and will be re-signed, same sequence).

export class LeaseLostError extends Error {
  constructor(taskId: string) {
    super(`lease on task ${taskId} was lost; stopping without signing`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The processing task while `workerId` holds a live lease on it, and how long that lease still
 * runs (`lease_ms`): the fencing condition, one place for the check before a send and for every
 * ledger write (nested into its statement).
 */
export const leasedTaskQuery = ({ taskId, workerId }: { taskId: string; workerId: string }) =>
  getSql()`select id, (extract(epoch from locked_until - now()) * 1000)::float8 as lease_ms from ai_agent_tasks
    where id = ${taskId} and locked_by = ${workerId} and status = 'processing' and locked_until > now()`;

/** How long `workerId`'s live lease on the processing task still runs (ms), or undefined when it holds none. */
export async function getTaskLeaseMs(lease: { taskId: string; workerId: string }): Promise<number | undefined> {
  const [row] = await getSql()<{ lease_ms: number }[]>`${leasedTaskQuery(lease)}`;
  return row?.lease_ms;
}

/** Whether `workerId` holds a live lease on the processing task: the fencing token checked before anything is sent. */
export async function holdsTaskLease(lease: { taskId: string; workerId: string }): Promise<boolean> {
  return (await getTaskLeaseMs(lease)) !== undefined;
}

export type SignedMint = {
  sequenceNumber: number;
  mintId: string;
  nonce: number;
  txHash: string;
  /**
   * The signed transaction. The mints of one EIP-7702 batch share one transaction (same nonce
   * and txHash); it is stored once, on the batch's first row, not once per mint (a 200-mint
   * batch is ~70 kB).
   */
  rawTransaction: string | null;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
};

export async function listMintRecordsByTask({ taskId }: { taskId: string }): Promise<MintRecord[]> {
  return getDb()
    .select()
    .from(aiAgentMintRecords)
    .where(eq(aiAgentMintRecords.taskId, taskId))
    .orderBy(asc(aiAgentMintRecords.sequenceNumber));
}

export type OpenMintRecord = {
  sequenceNumber: number;
  mintId: string;
  nonce: number;
  txHash: string | null;
  rawTransaction: string | null;
};

/** Rows that were signed or sent but not settled: what the reconciler checks against the chain. */
export async function listOpenMintRecordsByTask({ taskId }: { taskId: string }): Promise<OpenMintRecord[]> {
  // Raw SQL: this runs before every batch, and drizzle's query building costs more CPU than the query.
  return getSql()<OpenMintRecord[]>`
    select sequence_number as "sequenceNumber", mint_id as "mintId", nonce, tx_hash as "txHash", raw_transaction as "rawTransaction"
    from ai_agent_mint_records where task_id = ${taskId} and status in ('signed', 'sent') order by nonce`;
}

/** The sequence numbers the next batch should sign: failed ones first (same mintId), then new. */
export async function listNextSequencesByTask({
  taskId,
  quantity,
  limit,
}: {
  taskId: string;
  quantity: number;
  limit: number;
}) {
  const [row] = await getSql()<{ failed: number[]; top: number }[]>`
    select coalesce(array_agg(sequence_number order by sequence_number) filter (where status = 'failed'), '{}') as failed,
           coalesce(max(sequence_number), 0)::int as top
    from ai_agent_mint_records where task_id = ${taskId}`;
  const seqs = (row?.failed ?? []).slice(0, limit);
  for (let seq = (row?.top ?? 0) + 1; seqs.length < limit && seq <= quantity; seq++) seqs.push(seq);
  return seqs;
}

/**
 * Writes a batch of signed mints in one statement that first locks the task row and checks this
 * worker still holds its lease: a worker that lost its lease can never add a transaction the
 * next owner does not see. A failed row is reused for its re-signed mint (same mintId); a
 * confirmed or open row is never overwritten. Returns how long the lease still runs.
 */
export async function writeSignedMints(write: { taskId: string; workerId: string; mints: SignedMint[] }) {
  const { written, leaseMs } = await writeAndSettleMints(write);
  if (written) return { leaseMs: leaseMs! };
  throw writeRefused(write.taskId, leaseMs);
}

/** Why a ledger write wrote nothing: the caller must not broadcast its batch. */
export function writeRefused(taskId: string, leaseMs: number | undefined): Error {
  if (leaseMs === undefined) return new LeaseLostError(taskId);
  return new Error(`a mint of task ${taskId} in this batch is already signed or confirmed; not signing it again`);
}

export type LedgerWrite = {
  /** Every mint was written (none is when the lease is gone or one of them is already signed or confirmed). */
  written: boolean;
  /** How long the lease still ran when the statement checked it (ms); undefined when it is not held. */
  leaseMs?: number;
  /** The task's progress after the settles the write carried; undefined when it carried none. */
  progress?: TaskProgress;
};

/**
 * Writes signed mints (as writeSignedMints, all or nothing) and, in the same statement, settles
 * earlier mints (as recordMintProgress, whatever became of the write): the ledger write of one
 * batch carries the settles of the batches before it, one round trip where two took two.
 * Never throws for a write it refused: `written` says, and `leaseMs` why.
 */
export async function writeAndSettleMints({
  taskId,
  workerId,
  mints,
  confirmed = [],
  failed = [],
}: {
  taskId: string;
  workerId: string;
  mints: SignedMint[];
  confirmed?: ConfirmedMint[];
  failed?: FailedMint[];
}): Promise<LedgerWrite> {
  const settles = confirmed.length + failed.length > 0;
  if (mints.length === 0) {
    const progress = settles ? await recordMintProgress({ taskId, confirmed, failed }) : undefined;
    return { written: true, progress };
  }
  // One statement for the whole batch (unnest of column arrays), all or nothing on its own: it
  // writes no row when the lease is gone or any of these mints is already signed or confirmed.
  // A batch's rows without the transaction carry '' (postgres.js cannot bind a text[] with nulls), stored as null.
  const col = <K extends keyof SignedMint>(k: K) => mints.map((m) => (m[k] === null ? '' : String(m[k])));
  const sql = getSql();
  const write = sql`
      owned as (${leasedTaskQuery({ taskId, workerId })} for update),
      clash as (
        select 1 from ai_agent_mint_records
        where task_id = ${taskId} and sequence_number = any(${sql.array(col('sequenceNumber'))}::int[]) and status <> 'failed'
        limit 1),
      written as (
        insert into ai_agent_mint_records
          (task_id, sequence_number, mint_id, nonce, tx_hash, raw_transaction, max_fee_per_gas, max_priority_fee_per_gas, status)
        select owned.id, v.seq, v.mint_id, v.nonce, v.tx_hash, nullif(v.raw, ''), v.max_fee, v.tip, 'signed'
        from owned cross join unnest(${sql.array(col('sequenceNumber'))}::int[], ${sql.array(col('mintId'))}::text[], ${sql.array(col('nonce'))}::int[],
          ${sql.array(col('txHash'))}::text[], ${sql.array(col('rawTransaction'))}::text[], ${sql.array(col('maxFeePerGas'))}::numeric[], ${sql.array(col('maxPriorityFeePerGas'))}::numeric[])
          as v(seq, mint_id, nonce, tx_hash, raw, max_fee, tip)
        where not exists (select 1 from clash)
        on conflict (task_id, sequence_number) do update set
          nonce = excluded.nonce, tx_hash = excluded.tx_hash, raw_transaction = excluded.raw_transaction,
          max_fee_per_gas = excluded.max_fee_per_gas, max_priority_fee_per_gas = excluded.max_priority_fee_per_gas,
          status = 'signed', sent_at = null, created_at = now()
        where ai_agent_mint_records.status = 'failed'
        returning ai_agent_mint_records.id)`;
  type Row = { writtenCount: number; leaseMs: number | null };
  if (!settles) {
    const [row] = await sql<Row[]>`
      with ${write}
      select (select count(*) from written)::int as "writtenCount", (select lease_ms from owned) as "leaseMs"`;
    return { written: row!.writtenCount === mints.length, leaseMs: row!.leaseMs ?? undefined };
  }
  const [row] = await sql<(NotifiedProgress & Row)[]>`
    with ${write}, ${settleMintsCtes({ taskId, confirmed, failed, written: true })}
    select p.*, (select count(*) from written)::int as "writtenCount", (select lease_ms from owned) as "leaseMs"
    from (${selectProgressNotifying()}) p`;
  if (!row) return { written: false, leaseMs: undefined }; // the task is gone
  const { writtenCount, leaseMs, notified: _, ...progress } = row;
  return { written: writtenCount === mints.length, leaseMs: leaseMs ?? undefined, progress };
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
  /**
   * The signed transaction. The mints of one EIP-7702 batch share one transaction (same nonce
   * and txHash); it is stored once, on the batch's first row, not once per mint (a 200-mint
   * batch is ~70 kB).
   */
  rawTransaction: string | null;
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

/**
 * A stuck batch transaction's replacement (same nonce, same calls, higher fees), stored before it
 * is sent: every open row of the batch moves to the new hash, the row that holds the signed
 * transaction gets the new one.
 */
export async function replaceBatchTransaction({
  taskId,
  previousTxHash,
  txHash,
  rawTransaction,
  maxFeePerGas,
  maxPriorityFeePerGas,
}: {
  taskId: string;
  previousTxHash: string;
  txHash: string;
  rawTransaction: string;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}) {
  const rows = await getSql()`
    update ai_agent_mint_records set tx_hash = ${txHash},
      raw_transaction = case when raw_transaction is null then null else ${rawTransaction} end,
      max_fee_per_gas = ${maxFeePerGas.toString()}, max_priority_fee_per_gas = ${maxPriorityFeePerGas.toString()},
      error = coalesce(error || '; ', '') || 'replaced stuck batch transaction'
    where task_id = ${taskId} and tx_hash = ${previousTxHash} and status in ('signed', 'sent')
    returning id`;
  return rows.length > 0;
}
