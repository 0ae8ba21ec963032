import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

// Money is numeric(78,0) (any uint256) read back as a string; code converts to bigint at the edge.
const uint256 = (name: string) => numeric(name, { precision: 78, scale: 0 });
const address = (name: string) => varchar(name, { length: 42 });
const hash = (name: string) => varchar(name, { length: 66 });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const TASK_STATUSES = ['pending_payment', 'funded', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINAL_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

/** What a task buys from: a PaidMintToken's `mint` (contract) or an x402 endpoint (one paid request = one mint). */
export const MINT_ROUTES = ['contract', 'x402'] as const;
export type MintRoute = (typeof MINT_ROUTES)[number];

/**
 * An x402 task's endpoint and the terms probed at creation (see lib/x402/). The worker pays
 * exactly these terms: a later 402 asking for more stops the task instead of paying it.
 */
export type X402Terms = {
  url: string;
  method: 'GET' | 'POST';
  /** JSON body the endpoint expects for one mint (recipient already filled in where it takes one). */
  body?: unknown;
  /** true when the endpoint mints to a recipient we name (the user); false: it mints to the payer (the agent), who forwards. */
  mintsToUser: boolean;
  version: 1 | 2;
  requirement: {
    scheme: 'exact';
    /** As the endpoint wrote it: CAIP-2 (`eip155:84532`) for v2, a name (`base-sepolia`) for v1. */
    network: string;
    asset: string;
    /** Base units of the asset per paid request. */
    amount: string;
    payTo: string;
    /** As the seller advertised it (the v2 `accepted` echo must repeat it); the agent signs for authorizationSeconds. */
    maxTimeoutSeconds: number;
    resource?: string;
    extra?: Record<string, unknown>;
  };
  /** How long each authorization stays valid: the seller's maxTimeoutSeconds capped by X402_MAX_AUTHORIZATION_SECONDS (absent on tasks probed before the cap). */
  authorizationSeconds?: number;
  /** EIP-712 domain of the asset, read on chain: the one its signatures are checked against. */
  domain: { name: string; version: string };
  /** The domain the endpoint's `extra` names when it is not the asset's (payments are signed for `domain` all the same). */
  advertisedDomain?: { name: string; version: string };
  /** The endpoint's 402 declares the payment-identifier extension (@x402/extensions): each mint's payments carry one id. */
  paymentIdentifier?: { required: boolean };
  /**
   * How many mints one paid request may buy, as the probe learnt it (lib/x402/bulk-pricing.ts).
   * Absent (tasks probed before it): one per payment. `requirement.amount` stays the price of one.
   */
  mintsPerPayment?: MintsPerPayment;
};

export type MintsPerPayment = {
  /** Most mints one payment buys: 1, or the quantity the probe asked whose price was exactly that many times one's. */
  max: number;
  /** Why: the price scales; the request has no quantity field; the seller refused or priced the larger quantity otherwise; the setting is 1. */
  reason: 'scales' | 'no_quantity_field' | 'refused' | 'not_scaling' | 'setting';
  /** The body field that carries the quantity (where the request has one). */
  field?: string;
  /** The quantity asked at the probe and what the seller asked for it (base units), where it answered 402. */
  asked?: number;
  askedAmount?: string;
};

/** Addresses are stored lower-case so uniqueness and lookups never depend on checksum casing. */
export const aiAgentWallets = pgTable(
  'ai_agent_wallets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userAddress: address('user_address').notNull().unique(),
    agentAddress: address('agent_address').notNull().unique(),
    /** AES-256-GCM envelope, see lib/wallets/key-vault.ts; never the key in clear. */
    encryptedPrivateKey: text('encrypted_private_key').notNull(),
    usdcBalance: uint256('usdc_balance').notNull().default('0'),
    lastBalanceCheck: at('last_balance_check'),
    /** Set by every gas top-up, cleared by the sweep that looked at the wallet since (lib/wallets/sweep.ts). */
    ethSweepDueAt: at('eth_sweep_due_at'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('ai_agent_wallets_eth_sweep_due_idx')
      .on(t.ethSweepDueAt)
      .where(sql`${t.ethSweepDueAt} is not null`),
  ],
);

export const aiAgentTasks = pgTable(
  'ai_agent_tasks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userAddress: address('user_address').notNull(),
    /**
     * Where the task's tokens go when it is not the user (null: the user). Fixed at creation, and
     * set only by an x402 sale, whose payer's signed payment buys the task for this address.
     */
    recipient: address('recipient'),
    agentWalletId: uuid('agent_wallet_id')
      .notNull()
      .references(() => aiAgentWallets.id),
    chainId: integer('chain_id').notNull(),
    tokenAddress: address('token_address').notNull(),
    route: varchar('route', { length: 16 }).$type<MintRoute>().notNull().default('contract'),
    /** Set exactly when route = 'x402'. */
    x402: jsonb('x402').$type<X402Terms>(),
    quantity: integer('quantity').notNull(),
    pricePerMint: uint256('price_per_mint').notNull(),
    totalCost: uint256('total_cost').notNull(),
    status: varchar('status', { length: 20 }).$type<TaskStatus>().notNull().default('pending_payment'),
    priority: integer('priority').notNull().default(0),
    mintsCompleted: integer('mints_completed').notNull().default(0),
    mintsFailed: integer('mints_failed').notNull().default(0),
    /** The typed data the user is asked to sign; kept so every read proposes the same nonce. */
    fundingRequest: jsonb('funding_request'),
    /** The authorization and signature the user posted, stored when the operator submits it. */
    fundingAuthorization: jsonb('funding_authorization'),
    fundingNonce: hash('funding_nonce'),
    fundingTxHash: hash('funding_tx_hash'),
    /**
     * Set (committed) just before the operator submits the user's authorization: from then until
     * the task leaves pending_payment its cost counts as reserved, so a withdrawal can never take
     * USDC that is arriving for it (even when the fund request timed out waiting for the receipt).
     */
    fundingSubmittedAt: at('funding_submitted_at'),
    /**
     * The operator's transferWithAuthorization for this task, once the node has it, while the task
     * awaits payment: whoever posts next (or withdraws) waits for it instead of holding a lock while
     * it is mined. Its authorization is in funding_authorization and funding_nonce from submission on.
     */
    fundingSubmittedTxHash: hash('funding_submitted_tx_hash'),
    errorMessage: text('error_message'),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    retries: integer('retries').notNull().default(0),
    lockedBy: text('locked_by'),
    lockedUntil: at('locked_until'),
    nextAttemptAt: at('next_attempt_at'),
    gasToppedUpWei: uint256('gas_topped_up_wei').notNull().default('0'),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
    fundedAt: at('funded_at'),
    startedAt: at('started_at'),
    completedAt: at('completed_at'),
    /** When the refund after the task's end (lib/wallets/refund.ts) looked at it; null while it is due. */
    refundCheckedAt: at('refund_checked_at'),
    /** The refund that sent the wallet's leftover back then, if there was any. */
    refundTxHash: hash('refund_tx_hash'),
  },
  (t) => [
    // The worker's claim: funded or lease-expired processing tasks by priority, then age.
    index('ai_agent_tasks_claim_idx')
      .on(t.priority.desc(), t.createdAt)
      .where(sql`${t.status} in ('funded', 'processing')`),
    index('ai_agent_tasks_user_idx').on(t.userAddress, t.createdAt.desc()),
    // The worker's tick: ended tasks whose leftover no refund has looked at yet.
    index('ai_agent_tasks_refund_due_idx')
      .on(t.agentWalletId)
      .where(sql`${t.status} in ('completed', 'cancelled') and ${t.refundCheckedAt} is null`),
    index('ai_agent_tasks_pending_idx')
      .on(t.createdAt)
      .where(sql`${t.status} = 'pending_payment'`),
    uniqueIndex('ai_agent_tasks_funding_nonce_idx').on(t.userAddress, t.fundingNonce),
    check(
      'ai_agent_tasks_status_check',
      sql`${t.status} in ('pending_payment','funded','processing','completed','failed','cancelled')`,
    ),
    check(
      'ai_agent_tasks_route_check',
      sql`(${t.route} = 'contract' and ${t.x402} is null) or (${t.route} = 'x402' and ${t.x402} is not null)`,
    ),
    check('ai_agent_tasks_quantity_check', sql`${t.quantity} between 1 and 1000`),
    check('ai_agent_tasks_progress_check', sql`${t.mintsCompleted} >= 0 and ${t.mintsCompleted} <= ${t.quantity}`),
  ],
);

export const MINT_RECORD_STATUSES = ['signed', 'sent', 'confirmed', 'failed'] as const;
export type MintRecordStatus = (typeof MINT_RECORD_STATUSES)[number];

/** One row per mint of a task, written before its transaction is broadcast. */
export const aiAgentMintRecords = pgTable(
  'ai_agent_mint_records',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => aiAgentTasks.id),
    sequenceNumber: integer('sequence_number').notNull(),
    mintId: hash('mint_id').notNull().unique(),
    nonce: integer('nonce').notNull(),
    txHash: hash('tx_hash'),
    /** The signed transaction (public data), so a crash between write and broadcast can resend it. */
    rawTransaction: text('raw_transaction'),
    maxFeePerGas: uint256('max_fee_per_gas'),
    maxPriorityFeePerGas: uint256('max_priority_fee_per_gas'),
    status: varchar('status', { length: 16 }).$type<MintRecordStatus>().notNull().default('signed'),
    error: text('error'),
    blockNumber: bigint('block_number', { mode: 'bigint' }),
    gasUsed: uint256('gas_used'),
    effectiveGasPrice: uint256('effective_gas_price'),
    createdAt: at('created_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
    confirmedAt: at('confirmed_at'),
  },
  (t) => [
    uniqueIndex('ai_agent_mint_records_task_seq_idx').on(t.taskId, t.sequenceNumber),
    index('ai_agent_mint_records_open_idx')
      .on(t.taskId)
      .where(sql`${t.status} in ('signed', 'sent')`),
  ],
);

export const X402_PAYMENT_STATUSES = ['signed', 'sent', 'settled', 'unpaid', 'cancelled', 'expired'] as const;
export type X402PaymentStatus = (typeof X402_PAYMENT_STATUSES)[number];

/**
 * The x402 payment ledger: one row per EIP-3009 authorization the agent signs for a paid
 * request, written before the request is sent. `signed`/`sent` are open (the money may move; a
 * payment the seller refused stays open and is re-sent as it is, never replaced by a new one);
 * `settled` = the authorization was used on chain (the mint is paid, never pay it again);
 * `cancelled` (cancelAuthorization) and `expired` (validBefore passed unused, judged by the
 * chain's latest block time) = it can never move money. `unpaid` is no longer written (rows of
 * older versions: refused, unused). The database refuses a row whose mints overlap those of an
 * open or settled one: never two live authorizations for one mint, never a paid mint bought again.
 */
export const aiAgentX402Payments = pgTable(
  'ai_agent_x402_payments',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => aiAgentTasks.id),
    sequenceNumber: integer('sequence_number').notNull(),
    /** Mints the payment buys: sequence_number .. sequence_number + units - 1 (a seller that prices a quantity; X402Terms.mintsPerPayment). */
    units: integer('units').notNull().default(1),
    /** EIP-3009 nonce (bytes32), unique: the chain's own guard against paying twice. */
    nonce: hash('nonce').notNull().unique(),
    /** { from, to, value, validAfter, validBefore, nonce } as decimal strings. */
    authorization: jsonb('authorization').notNull(),
    signature: text('signature').notNull(),
    amount: uint256('amount').notNull(),
    payTo: address('pay_to').notNull(),
    validBefore: at('valid_before').notNull(),
    status: varchar('status', { length: 16 }).$type<X402PaymentStatus>().notNull().default('signed'),
    httpStatus: integer('http_status'),
    settlementTxHash: hash('settlement_tx_hash'),
    /** What the endpoint answered (truncated), for operators. */
    response: jsonb('response'),
    error: text('error'),
    createdAt: at('created_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
    resolvedAt: at('resolved_at'),
  },
  // Never two payments for one mint: no two rows of a task that are open or settled cover a
  // common sequence number (an exclusion constraint over sequence_number .. + units, written in
  // migration 0015_x402_payment_ranges.sql: drizzle's schema cannot express one).
  (t) => [index('ai_agent_x402_payments_task_idx').on(t.taskId, t.sequenceNumber)],
);

export const X402_STOP_OUTCOMES = ['failed', 'cancelled'] as const;
export type X402StopOutcome = (typeof X402_STOP_OUTCOMES)[number];

/**
 * The x402 side of a task that outlives one run (worker/x402/): refusals and operator cancels
 * counted over the task's whole life (a retry resets neither), how its deliveries are counted,
 * and, once it decided to stop, why: it ends only when none of its authorizations is live.
 */
export const aiAgentX402TaskState = pgTable('ai_agent_x402_task_state', {
  taskId: uuid('task_id')
    .primaryKey()
    .references(() => aiAgentTasks.id),
  /** Paid requests the seller refused (4xx), over every run of the task. */
  refusals: integer('refusals').notNull().default(0),
  /** cancelAuthorization transactions the operator sent for the task (their gas is in agent_gas_topups too). */
  operatorCancels: integer('operator_cancels').notNull().default(0),
  /** Token base units one paid mint delivers: the seller's `extra.outPerMint`, else the task's first arrival. */
  deliveryUnit: uint256('delivery_unit'),
  /** Block of the task's first settled payment: no earlier token transfer can be its delivery. */
  deliveryFromBlock: bigint('delivery_from_block', { mode: 'bigint' }),
  /** Set when the task decided to stop; it holds only for the run of `stopRetries` (a retry starts afresh). */
  stopOutcome: varchar('stop_outcome', { length: 16 }).$type<X402StopOutcome>(),
  stopReason: text('stop_reason'),
  stopRetries: integer('stop_retries'),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/**
 * Token transfers counted as an x402 task's deliveries: each Transfer log (of the task's token
 * to its recipient) counts for at most one task, in payment order (worker/x402/delivery.ts).
 */
export const aiAgentX402Deliveries = pgTable(
  'ai_agent_x402_deliveries',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => aiAgentTasks.id),
    token: address('token').notNull(),
    recipient: address('recipient').notNull(),
    txHash: hash('tx_hash').notNull(),
    logIndex: integer('log_index').notNull(),
    blockNumber: bigint('block_number', { mode: 'bigint' }).notNull(),
    amount: uint256('amount').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('ai_agent_x402_deliveries_log_idx').on(t.txHash, t.logIndex),
    index('ai_agent_x402_deliveries_task_idx').on(t.taskId),
  ],
);

export const X402_CLAIM_STATUSES = ['open', 'delivered'] as const;
export type X402ClaimStatus = (typeof X402_CLAIM_STATUSES)[number];

/**
 * A payment a seller settled without delivering what it sold within X402_DELIVERY_TIMEOUT_MS:
 * the evidence (payment, settlement transaction, the seller's answer, what arrived) that the
 * user, operators and the audit show. `delivered` once its tokens arrived after all.
 */
export const aiAgentX402Claims = pgTable(
  'ai_agent_x402_claims',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .references(() => aiAgentTasks.id),
    paymentId: bigint('payment_id', { mode: 'bigint' })
      .notNull()
      .unique()
      .references(() => aiAgentX402Payments.id),
    userAddress: address('user_address').notNull(),
    payTo: address('pay_to').notNull(),
    amount: uint256('amount').notNull(),
    settlementTxHash: hash('settlement_tx_hash'),
    httpStatus: integer('http_status'),
    /** A bounded excerpt of what the seller answered to the paid request. */
    sellerAnswer: text('seller_answer'),
    token: address('token').notNull(),
    /** Token base units that had arrived for the whole task when the claim was made, and what its payments should have brought. */
    arrivedAmount: uint256('arrived_amount').notNull(),
    expectedAmount: uint256('expected_amount'),
    status: varchar('status', { length: 16 }).$type<X402ClaimStatus>().notNull().default('open'),
    createdAt: at('created_at').notNull().defaultNow(),
    deliveredAt: at('delivered_at'),
  },
  (t) => [
    index('ai_agent_x402_claims_task_idx').on(t.taskId),
    index('ai_agent_x402_claims_user_idx').on(t.userAddress, t.createdAt.desc()),
  ],
);

export const aiAgentChats = pgTable(
  'ai_agent_chats',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userAddress: address('user_address').notNull(),
    role: varchar('role', { length: 16 }).$type<'user' | 'assistant'>().notNull(),
    parts: jsonb('parts').notNull(),
    taskId: uuid('task_id'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('ai_agent_chats_user_idx').on(t.userAddress, t.createdAt.desc())],
);

/** Sign-In with Ethereum nonces: single use, short-lived, shared by every web process. */
export const authNonces = pgTable('auth_nonces', {
  nonce: varchar('nonce', { length: 64 }).primaryKey(),
  expiresAt: at('expires_at').notNull(),
  usedAt: at('used_at'),
  createdAt: at('created_at').notNull().defaultNow(),
});

/**
 * Signed-in sessions, shared by every web process and checked on every request, so logging
 * out (or out everywhere) ends them at once. Only a SHA-256 of the cookie's token is stored.
 * `expires_at` slides forward on use, never past `created_at` + the absolute lifetime.
 */
export const authSessions = pgTable(
  'auth_sessions',
  {
    tokenHash: varchar('token_hash', { length: 64 }).primaryKey(),
    userAddress: address('user_address').notNull(),
    chainId: integer('chain_id').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    renewedAt: at('renewed_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
  },
  (t) => [index('auth_sessions_user_idx').on(t.userAddress), index('auth_sessions_expires_idx').on(t.expiresAt)],
);

export type AuthSession = typeof authSessions.$inferSelect;

/**
 * Fixed-window rate limit counters shared by every web process: one row per key (`chat:user:0x…`,
 * `auth:nonce:ip:…`); a window opens at a key's first hit and ends at `expires_at`, after which
 * the next hit starts a new one and the row may be deleted.
 */
export const rateLimitCounters = pgTable(
  'rate_limit_counters',
  {
    key: varchar('key', { length: 200 }).primaryKey(),
    windowStart: at('window_start').notNull(),
    hits: integer('hits').notNull(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('rate_limit_counters_expires_idx').on(t.expiresAt)],
);

export const WEBHOOK_STATUSES = ['pending', 'delivered', 'dead'] as const;

/** Outbox of webhook deliveries, retried with backoff until the receiver takes them. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    event: varchar('event', { length: 32 }).notNull(),
    taskId: uuid('task_id'),
    payload: jsonb('payload').notNull(),
    status: varchar('status', { length: 16 }).$type<(typeof WEBHOOK_STATUSES)[number]>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    createdAt: at('created_at').notNull().defaultNow(),
    deliveredAt: at('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
  ],
);

/**
 * One row per funds audit (`npm run ops -- audit`, lib/audit/): when it ran, which blocks it
 * read, and what it found; the admin page shows the latest.
 */
export const auditRuns = pgTable('audit_runs', {
  id: bigserial('id', { mode: 'bigint' }).primaryKey(),
  startedAt: at('started_at').notNull(),
  finishedAt: at('finished_at').notNull().defaultNow(),
  fromBlock: bigint('from_block', { mode: 'bigint' }).notNull(),
  toBlock: bigint('to_block', { mode: 'bigint' }).notNull(),
  users: integer('users').notNull(),
  discrepancies: integer('discrepancies').notNull(),
  /** Totals and the discrepancies (the first 100), as the command's JSON prints them. */
  report: jsonb('report').notNull(),
});

export const KNOWN_TOKEN_SOURCES = ['deployed', 'listed'] as const;
export type KnownTokenSource = (typeof KNOWN_TOKEN_SOURCES)[number];

/**
 * The only tokens a contract-route task may mint: deployed by AgentMint (`npm run deploy:token`,
 * the local stack) or listed by the operator after a check that their code is PaidMintToken's
 * (`npm run ops -- tokens add`). Anything else could make the operator pay for its gas.
 */
export const knownTokens = pgTable(
  'known_tokens',
  {
    chainId: integer('chain_id').notNull(),
    address: address('address').notNull(),
    source: varchar('source', { length: 16 }).$type<KnownTokenSource>().notNull(),
    name: text('name'),
    symbol: text('symbol'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.chainId, t.address] }),
    check('known_tokens_source_check', sql`${t.source} in ('deployed', 'listed')`),
  ],
);

/**
 * Every gas top-up the operator sent (or is sending) to an agent wallet, per user: the daily
 * per-user gas budget sums this table. Written before the transfer is sent; a transfer refused
 * before broadcast deletes its row again.
 */
export const agentGasTopups = pgTable(
  'agent_gas_topups',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    userAddress: address('user_address').notNull(),
    /** The task it paid gas for; null for a withdrawal's gas. */
    taskId: uuid('task_id'),
    amountWei: uint256('amount_wei').notNull(),
    txHash: hash('tx_hash'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [index('agent_gas_topups_user_idx').on(t.userAddress, t.createdAt)],
);

export const ETH_SWEEP_STATUSES = ['sent', 'confirmed', 'failed'] as const;
export type EthSweepStatus = (typeof ETH_SWEEP_STATUSES)[number];

/**
 * ETH an idle agent wallet sent back to the operator (lib/wallets/sweep.ts). Written with its
 * hash and nonce before the transaction is broadcast ('sent'), 'confirmed' once mined; 'failed'
 * when the node refused it or it reverted. A confirmed sweep counts back against the user's
 * daily gas budget, which measures what the operator is out.
 */
export const agentEthSweeps = pgTable(
  'agent_eth_sweeps',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    agentWalletId: uuid('agent_wallet_id')
      .notNull()
      .references(() => aiAgentWallets.id),
    userAddress: address('user_address').notNull(),
    amountWei: uint256('amount_wei').notNull(),
    /** The most its gas could cost: gas limit × max fee (+ the L1 data fee on OP-stack chains). */
    maxGasWei: uint256('max_gas_wei').notNull(),
    /** What its gas did cost, once mined. */
    gasCostWei: uint256('gas_cost_wei'),
    nonce: integer('nonce').notNull(),
    txHash: hash('tx_hash').notNull(),
    status: varchar('status', { length: 16 }).$type<EthSweepStatus>().notNull().default('sent'),
    createdAt: at('created_at').notNull().defaultNow(),
    confirmedAt: at('confirmed_at'),
  },
  (t) => [
    index('agent_eth_sweeps_user_idx').on(t.userAddress, t.createdAt),
    check('agent_eth_sweeps_status_check', sql`${t.status} in ('sent', 'confirmed', 'failed')`),
  ],
);

/** What an assistant key may do over MCP; `quote` needs no key at all. */
export const ASSISTANT_KEY_SCOPES = ['read', 'create', 'cancel', 'withdraw'] as const;
export type AssistantKeyScope = (typeof ASSISTANT_KEY_SCOPES)[number];

/**
 * Assistant keys: bearer tokens a signed-in user creates for an AI assistant (MCP, lib/mcp/).
 * Only the SHA-256 of the token is stored; the token is shown once. A key acts for its user
 * alone, within its scopes, until it expires or is revoked, and may commit at most
 * `daily_cap_usdc` (base units) to new tasks in any rolling 24 hours.
 */
export const assistantKeys = pgTable(
  'assistant_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userAddress: address('user_address').notNull(),
    name: varchar('name', { length: 60 }).notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull().unique(),
    /** The token's first characters (`amk_Xy12ab`), so the page can tell keys apart. */
    tokenPrefix: varchar('token_prefix', { length: 16 }).notNull(),
    scopes: text('scopes').array().$type<AssistantKeyScope[]>().notNull(),
    dailyCapUsdc: uint256('daily_cap_usdc').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [
    index('assistant_keys_user_idx').on(t.userAddress, t.createdAt.desc()),
    check('assistant_keys_cap_check', sql`${t.dailyCapUsdc} >= 0`),
  ],
);

export const ASSISTANT_KEY_OUTCOMES = ['ok', 'refused', 'error'] as const;
export type AssistantKeyOutcome = (typeof ASSISTANT_KEY_OUTCOMES)[number];

/**
 * Every use of an assistant key: one row per tool call, resource read or subscription, refused
 * ones included. A task created through the key records its cost in `spend_usdc`: the daily cap
 * sums these (lib/assistant-keys/spend-cap.ts).
 */
export const assistantKeyUses = pgTable(
  'assistant_key_uses',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    keyId: uuid('key_id')
      .notNull()
      .references(() => assistantKeys.id),
    action: varchar('action', { length: 40 }).notNull(),
    outcome: varchar('outcome', { length: 16 }).$type<AssistantKeyOutcome>().notNull(),
    taskId: uuid('task_id'),
    spendUsdc: uint256('spend_usdc'),
    /** The refusal's error code (`forbidden:scope`), never a message that could carry input. */
    errorCode: varchar('error_code', { length: 64 }),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('assistant_key_uses_key_idx').on(t.keyId, t.createdAt.desc()),
    check('assistant_key_uses_outcome_check', sql`${t.outcome} in ('ok', 'refused', 'error')`),
  ],
);

/**
 * Mint tasks sold over x402 (POST /api/x402/mint, lib/x402-seller/): one row per task an agent
 * bought with one paid request. The payment is the task's funding authorization (payTo = the
 * payer's agent wallet), so a sale is keyed by it: one task per (payer, EIP-3009 nonce) and per
 * (payer, payment-identifier), whatever retries arrive. The task token that reads and cancels
 * the task is stored only as its SHA-256.
 */
export const x402Sales = pgTable(
  'x402_sales',
  {
    id: uuid('id').primaryKey(),
    taskId: uuid('task_id')
      .notNull()
      .unique()
      .references(() => aiAgentTasks.id),
    payer: address('payer').notNull(),
    /** The EIP-3009 nonce of the payment that bought the task. */
    paymentNonce: hash('payment_nonce').notNull(),
    /** The buyer's `payment-identifier` (x402 extension), when it sent one. */
    paymentId: varchar('payment_id', { length: 128 }),
    /** SHA-256 of what was bought (route, token or URL, quantity): one payment id buys one thing. */
    requestHash: varchar('request_hash', { length: 64 }).notNull(),
    taskTokenHash: varchar('task_token_hash', { length: 64 }).notNull().unique(),
    x402Version: integer('x402_version').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('x402_sales_payment_idx').on(t.payer, t.paymentNonce),
    uniqueIndex('x402_sales_payment_id_idx')
      .on(t.payer, t.paymentId)
      .where(sql`${t.paymentId} is not null`),
    check('x402_sales_version_check', sql`${t.x402Version} in (1, 2)`),
  ],
);

export type AgentWallet = typeof aiAgentWallets.$inferSelect;
export type Task = typeof aiAgentTasks.$inferSelect;
/** A task with its agent wallet's address, the shape every reader needs. */
export type TaskWithAgent = Task & { agentAddress: string };
export type NewTask = typeof aiAgentTasks.$inferInsert;
export type MintRecord = typeof aiAgentMintRecords.$inferSelect;
export type X402Payment = typeof aiAgentX402Payments.$inferSelect;
export type ChatMessage = typeof aiAgentChats.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type AuditRun = typeof auditRuns.$inferSelect;
export type EthSweep = typeof agentEthSweeps.$inferSelect;
export type KnownToken = typeof knownTokens.$inferSelect;
export type AssistantKey = typeof assistantKeys.$inferSelect;
export type AssistantKeyUse = typeof assistantKeyUses.$inferSelect;
export type X402Sale = typeof x402Sales.$inferSelect;
