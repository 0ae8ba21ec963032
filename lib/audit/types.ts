// The funds audit's report: per user the figures each equation compares, and every
// discrepancy with the task, the amounts and the transaction it is about. Amounts are decimal
// strings of base units (USDC 6 decimals, ETH wei), as everywhere in the API.

export const DISCREPANCY_KINDS = [
  /** USDC left an agent wallet for someone AgentMint never pays (not a token, the user or an x402 payTo). */
  'usdc_unexplained_outflow',
  /** funded ≠ mints × price + x402 + withdrawn + balance, and no itemised discrepancy explains the rest. */
  'funds_unbalanced',
  /** A task's funding transaction did not move its total cost to the agent. */
  'funding_not_on_chain',
  /** The agent holds less USDC than its open tasks still need. */
  'reserve_shortfall',
  /** A mint on chain (Minted, payer = agent) that the ledger does not have as confirmed. */
  'mint_not_in_ledger',
  /** A confirmed ledger mint with no Minted event. */
  'ledger_mint_not_on_chain',
  /** A task minted more than its quantity, or one mintId twice. */
  'double_mint',
  /** The Minted event of a confirmed mint differs from its ledger row (tx hash, recipient, price or amount). */
  'mint_mismatch',
  /** A task's mints_completed differs from its confirmed ledger rows. */
  'progress_mismatch',
  /** A mint (payer = agent) whose mintId belongs to no task of this user. */
  'unknown_mint',
  /** A transaction's USDC paid to tokens differs from the prices of the mints it made. */
  'mint_payment_mismatch',
  /**
   * An x402 payment the ledger has as settled whose authorization the chain did not use (or used
   * in another transaction), or USDC that reached an x402 payee outside any payment in the ledger.
   */
  'x402_mismatch',
  /**
   * An x402 authorization the ledger thought dead (cancelled, expired or unpaid) that the chain
   * shows used, its USDC moved to the payee: a seller settled after AgentMint let it go.
   */
  'x402_dead_authorization_settled',
  /** A token transfer the ledger counted as an x402 task's delivery that the chain does not have as counted (token, recipient, amount, log). */
  'x402_delivery_not_on_chain',
  /** A claim whose settlement the chain does not show: no transaction used the payment's authorization to move its USDC from the agent to the payee. */
  'x402_claim_unverified',
  /** A transaction the agent sent that AgentMint never makes (the guard would refuse it). */
  'agent_tx_unknown',
  /** The agent's code is an EIP-7702 delegation to a contract other than AgentMint's batch executor. */
  'agent_delegation_unknown',
  /** ETH in − gas − ETH out ≠ the agent's ETH balance change over the range. */
  'eth_unbalanced',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

export type Discrepancy = {
  kind: DiscrepancyKind;
  user: string;
  agent: string;
  taskId?: string;
  sequenceNumber?: number;
  txHash?: string;
  /** What the ledger (or the equation) expects, what the chain shows, and their difference. */
  expected?: string;
  actual?: string;
  amount?: string;
  message: string;
};

export type UserAudit = {
  user: string;
  agent: string;
  usdc: {
    startBalance: string;
    funded: string;
    mintsPaid: string;
    x402Paid: string;
    withdrawn: string;
    /** Mints on chain and x402 payments settled on chain that the ledger has not yet closed. */
    inFlight: string;
    unexplainedOut: string;
    balance: string;
    reserved: string;
    refundable: string;
  };
  mints: { ledgerConfirmed: number; onChain: number; tokensReceived: string; x402Settled: number };
  eth: {
    startBalance: string;
    topUps: string;
    topUpsRecorded: string;
    otherIn: string;
    gasSpent: string;
    ledgerMintGas: string;
    sentOut: string;
    /** Unburnt gas the agent sent back to the operator (lib/wallets/sweep.ts). */
    swept: string;
    /** The agent's ETH at the end of the range: the operator's money parked in the wallet. */
    balance: string;
    txs: number;
    reverted: number;
  };
  tasks: TaskAudit[];
};

export type TaskAudit = {
  id: string;
  route: string;
  status: string;
  quantity: number;
  confirmed: number;
  minted: number;
  x402Settled: number;
  /** x402 mints whose tokens the deliveries ledger (ai_agent_x402_deliveries) counts as arrived. */
  x402Delivered?: number;
  /** x402 mints paid (settled) whose tokens have not arrived by that ledger: a seller paid for nothing yet. */
  x402Undelivered?: number;
  tokensReceived: string;
};

/** A claim with its settlement checked on chain (lib/audit/x402-evidence.ts). */
export type ClaimAudit = {
  id: string;
  user: string;
  agent: string;
  taskId: string;
  sequenceNumber: number;
  payTo: string;
  /** USDC base units the seller took. */
  amount: string;
  /** open: nothing arrived; delivered: the tokens came after all. */
  status: string;
  createdAt: string;
  settlementTxHash: string | null;
  settlementBlock: string | null;
  /** The settlement transaction used the payment's authorization and moved `amount` from the agent to `payTo`. */
  verified: boolean;
  problem?: string;
};

export type AuditReport = {
  startedAt: string;
  fromBlock: string;
  toBlock: string;
  /** Where fromBlock came from: --from-block, AUDIT_FROM_BLOCK, the first funding transaction, or genesis. */
  fromBlockSource: string;
  blockRange: string;
  ok: boolean;
  users: UserAudit[];
  /** The operator's ETH over every audited agent wallet: sent as top-ups, burnt as gas, swept back, parked now. */
  eth: { topUps: string; gasSpent: string; swept: string; parked: string; walletsHolding: number };
  /** Every claim of the audited users (a seller took a payment without delivering), its settlement checked on chain. */
  claims: ClaimAudit[];
  discrepancies: Discrepancy[];
  /** Figures worth a look that are not errors (e.g. gas budget reserved but never sent). */
  notes: string[];
};
