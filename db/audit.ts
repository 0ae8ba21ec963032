import { desc } from 'drizzle-orm';
import { getDb, getSql } from './client';
import {
  auditRuns,
  type AuditRun,
  type MintRoute,
  type TaskStatus,
  type X402ClaimStatus,
  type X402PaymentStatus,
} from './schema';

// What the funds audit (lib/audit/) reads from the database, and where it keeps its runs.
// Read-only over the ledger; addresses come back lower-case as stored.

export type AuditWallet = { id: string; userAddress: string; agentAddress: string };
export type AuditTask = {
  id: string;
  agentWalletId: string;
  route: MintRoute;
  tokenAddress: string;
  /** Where its mints go when not the user (lower-case; null: the user). */
  recipient: string | null;
  status: TaskStatus;
  quantity: number;
  pricePerMint: bigint;
  totalCost: bigint;
  mintsCompleted: number;
  fundingTxHash: string | null;
  fundedAt: Date | null;
  gasToppedUpWei: bigint;
  payTo: string | null;
  /** x402: token base units one paid mint delivers (ai_agent_x402_task_state), once the first delivery showed it. */
  deliveryUnit: bigint | null;
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
  /** Mints the payment buys (several from a seller that prices a quantity). */
  units: number;
  /** The EIP-3009 nonce: what ties the row to the chain's AuthorizationUsed event. */
  nonce: string;
  status: X402PaymentStatus;
  amount: bigint;
  payTo: string;
  settlementTxHash: string | null;
};

/** A token transfer the worker counted as an x402 task's delivery (ai_agent_x402_deliveries). */
export type AuditX402Delivery = {
  taskId: string;
  token: string;
  recipient: string;
  txHash: string;
  logIndex: number;
  amount: bigint;
};
/** A claim (ai_agent_x402_claims) with the nonce of the payment it is about: what ties it to the chain. */
export type AuditX402Claim = {
  id: string;
  taskId: string;
  sequenceNumber: number;
  nonce: string;
  payTo: string;
  amount: bigint;
  settlementTxHash: string | null;
  status: X402ClaimStatus;
  createdAt: Date;
};

export type LedgerFacts = {
  wallets: AuditWallet[];
  tasks: AuditTask[];
  mints: AuditMintRow[];
  x402: AuditX402Row[];
  deliveries: AuditX402Delivery[];
  claims: AuditX402Claim[];
};

const big = (v: string | null) => (v === null ? null : BigInt(v));

/** Every wallet (or one user's), its tasks, every mint ledger row, every x402 payment row (any status), delivery and claim. */
export async function readLedgerFacts({ userAddress }: { userAddress?: string } = {}): Promise<LedgerFacts> {
  const sql = getSql();
  const user = userAddress?.toLowerCase() ?? null;
  const wallets = await sql<AuditWallet[]>`
    select id, user_address as "userAddress", agent_address as "agentAddress" from ai_agent_wallets
    where ${user}::text is null or user_address = ${user} order by created_at`;
  const none = { tasks: [], mints: [], x402: [], deliveries: [], claims: [] };
  if (wallets.length === 0) return { wallets, ...none };
  const ids = wallets.map((w) => w.id);
  const tasks = await sql<
    (Omit<AuditTask, 'pricePerMint' | 'totalCost' | 'gasToppedUpWei' | 'deliveryUnit'> & {
      pricePerMint: string;
      totalCost: string;
      gasToppedUpWei: string;
      deliveryUnit: string | null;
    })[]
  >`
    select id, agent_wallet_id as "agentWalletId", route, token_address as "tokenAddress", recipient, status, quantity,
      price_per_mint::text as "pricePerMint", total_cost::text as "totalCost", mints_completed as "mintsCompleted",
      funding_tx_hash as "fundingTxHash", funded_at as "fundedAt", gas_topped_up_wei::text as "gasToppedUpWei", lower(x402->'requirement'->>'payTo') as "payTo",
      (select delivery_unit::text from ai_agent_x402_task_state s where s.task_id = t.id) as "deliveryUnit"
    from ai_agent_tasks t where agent_wallet_id in ${sql(ids)} order by created_at`;
  const taskIds = tasks.map((t) => t.id);
  if (taskIds.length === 0) return { wallets, ...none };
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
    select task_id as "taskId", sequence_number as "sequenceNumber", units, lower(nonce) as nonce, status, amount::text as amount,
      lower(pay_to) as "payTo", settlement_tx_hash as "settlementTxHash"
    from ai_agent_x402_payments where task_id in ${sql(taskIds)} order by task_id, sequence_number, id`;
  const deliveries = await sql<(Omit<AuditX402Delivery, 'amount'> & { amount: string })[]>`
    select task_id as "taskId", lower(token) as token, lower(recipient) as recipient, lower(tx_hash) as "txHash",
      log_index as "logIndex", amount::text as amount
    from ai_agent_x402_deliveries where task_id in ${sql(taskIds)} order by task_id, id`;
  const claims = await sql<(Omit<AuditX402Claim, 'amount' | 'createdAt'> & { amount: string; createdAt: string })[]>`
    select c.id::text, c.task_id as "taskId", p.sequence_number as "sequenceNumber", lower(p.nonce) as nonce,
      lower(c.pay_to) as "payTo", c.amount::text as amount, lower(c.settlement_tx_hash) as "settlementTxHash", c.status,
      c.created_at as "createdAt"
    from ai_agent_x402_claims c join ai_agent_x402_payments p on p.id = c.payment_id
    where c.task_id in ${sql(taskIds)} order by c.created_at, c.id`;
  return {
    wallets,
    tasks: tasks.map((t) => ({
      ...t,
      pricePerMint: BigInt(t.pricePerMint),
      totalCost: BigInt(t.totalCost),
      gasToppedUpWei: BigInt(t.gasToppedUpWei),
      deliveryUnit: big(t.deliveryUnit),
    })),
    mints: mints.map((m) => ({ ...m, gasUsed: big(m.gasUsed), effectiveGasPrice: big(m.effectiveGasPrice) })),
    x402: x402.map((p) => ({ ...p, amount: BigInt(p.amount) })),
    deliveries: deliveries.map((d) => ({ ...d, amount: BigInt(d.amount) })),
    claims: claims.map((c) => ({ ...c, amount: BigInt(c.amount), createdAt: new Date(c.createdAt) })),
  };
}

export async function insertAuditRun(run: Omit<AuditRun, 'id' | 'finishedAt'>): Promise<void> {
  await getDb().insert(auditRuns).values(run);
}

export async function getLastAuditRun(): Promise<AuditRun | undefined> {
  const [row] = await getDb().select().from(auditRuns).orderBy(desc(auditRuns.id)).limit(1);
  return row;
}
