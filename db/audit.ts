import { desc } from 'drizzle-orm';
import { getDb, getSql } from './client';
import { auditRuns, type AuditRun, type MintRoute, type TaskStatus, type X402PaymentStatus } from './schema';

// What the funds audit (lib/audit/) reads from the database, and where it keeps its runs.
// Read-only over the ledger; addresses come back lower-case as stored.

export type AuditWallet = { id: string; userAddress: string; agentAddress: string };
export type AuditTask = {
  id: string;
  agentWalletId: string;
  route: MintRoute;
  tokenAddress: string;
  status: TaskStatus;
  quantity: number;
  pricePerMint: bigint;
  totalCost: bigint;
  mintsCompleted: number;
  fundingTxHash: string | null;
  fundedAt: Date | null;
  gasToppedUpWei: bigint;
  payTo: string | null;
};
export type AuditMintRow = {
  taskId: string;
  sequenceNumber: number;
  mintId: string;
  status: string;
  txHash: string | null;
  gasUsed: bigint | null;
  effectiveGasPrice: bigint | null;
};
export type AuditX402Row = {
  taskId: string;
  sequenceNumber: number;
  /** The EIP-3009 nonce: what ties the row to the chain's AuthorizationUsed event. */
  nonce: string;
  status: X402PaymentStatus;
  amount: bigint;
  payTo: string;
  settlementTxHash: string | null;
};

export type LedgerFacts = { wallets: AuditWallet[]; tasks: AuditTask[]; mints: AuditMintRow[]; x402: AuditX402Row[] };

const big = (v: string | null) => (v === null ? null : BigInt(v));

/** Every wallet (or one user's), its tasks, every mint ledger row and every x402 payment row (any status). */
export async function readLedgerFacts({ userAddress }: { userAddress?: string } = {}): Promise<LedgerFacts> {
  const sql = getSql();
  const user = userAddress?.toLowerCase() ?? null;
  const wallets = await sql<AuditWallet[]>`
    select id, user_address as "userAddress", agent_address as "agentAddress" from ai_agent_wallets
    where ${user}::text is null or user_address = ${user} order by created_at`;
  if (wallets.length === 0) return { wallets, tasks: [], mints: [], x402: [] };
  const ids = wallets.map((w) => w.id);
  const tasks = await sql<
    (Omit<AuditTask, 'pricePerMint' | 'totalCost' | 'gasToppedUpWei'> & {
      pricePerMint: string;
      totalCost: string;
      gasToppedUpWei: string;
    })[]
  >`
    select id, agent_wallet_id as "agentWalletId", route, token_address as "tokenAddress", status, quantity,
      price_per_mint::text as "pricePerMint", total_cost::text as "totalCost", mints_completed as "mintsCompleted",
      funding_tx_hash as "fundingTxHash", funded_at as "fundedAt", gas_topped_up_wei::text as "gasToppedUpWei", lower(x402->'requirement'->>'payTo') as "payTo"
    from ai_agent_tasks where agent_wallet_id in ${sql(ids)} order by created_at`;
  const taskIds = tasks.map((t) => t.id);
  if (taskIds.length === 0) return { wallets, tasks: [], mints: [], x402: [] };
  const mints = await sql<
    (Omit<AuditMintRow, 'gasUsed' | 'effectiveGasPrice'> & {
      gasUsed: string | null;
      effectiveGasPrice: string | null;
    })[]
  >`
    select task_id as "taskId", sequence_number as "sequenceNumber", mint_id as "mintId", status, tx_hash as "txHash",
      gas_used::text as "gasUsed", effective_gas_price::text as "effectiveGasPrice"
    from ai_agent_mint_records where task_id in ${sql(taskIds)} order by task_id, sequence_number`;
  const x402 = await sql<(Omit<AuditX402Row, 'amount'> & { amount: string })[]>`
    select task_id as "taskId", sequence_number as "sequenceNumber", lower(nonce) as nonce, status, amount::text as amount,
      lower(pay_to) as "payTo", settlement_tx_hash as "settlementTxHash"
    from ai_agent_x402_payments where task_id in ${sql(taskIds)} order by task_id, sequence_number, id`;
  return {
    wallets,
    tasks: tasks.map((t) => ({
      ...t,
      pricePerMint: BigInt(t.pricePerMint),
      totalCost: BigInt(t.totalCost),
      gasToppedUpWei: BigInt(t.gasToppedUpWei),
    })),
    mints: mints.map((m) => ({ ...m, gasUsed: big(m.gasUsed), effectiveGasPrice: big(m.effectiveGasPrice) })),
    x402: x402.map((p) => ({ ...p, amount: BigInt(p.amount) })),
  };
}

export async function insertAuditRun(run: Omit<AuditRun, 'id' | 'finishedAt'>): Promise<void> {
  await getDb().insert(auditRuns).values(run);
}

export async function getLastAuditRun(): Promise<AuditRun | undefined> {
  const [row] = await getDb().select().from(auditRuns).orderBy(desc(auditRuns.id)).limit(1);
  return row;
}
