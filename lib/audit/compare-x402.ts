import type { AuditTask, AuditX402Row } from '@/db/audit';
import type { AuthorizationUsedLog, TransferLog } from './chain-facts';
import type { Discrepancy } from './types';

// x402 payments, one by one: each ledger row is an EIP-3009 authorization the agent signed, and
// the chain says whether it was used (AuthorizationUsed(agent, nonce) with its Transfer to the
// payee in the same transaction). The ledger's status must agree:
//   settled                     → used, moving the row's amount to its payee (in its transaction)
//   cancelled, expired, unpaid  → never used: a settlement is a seller paid after AgentMint let go
//   signed, sent                → either: still open, counted in flight
// and every USDC transfer to an x402 payee must be one of these payments.

export type X402Comparison = {
  discrepancies: Omit<Discrepancy, 'user' | 'agent'>[];
  /** Σ amounts the ledger has as settled, and USDC that reached payees on chain. */
  ledgerPaid: bigint;
  chainPaid: bigint;
  /** Open payments the chain shows settled: the worker has not closed them yet (of open tasks, and of all). */
  inFlightOpenTasks: bigint;
  inFlight: bigint;
};

const DEAD = new Set(['cancelled', 'expired', 'unpaid']);

export function compareX402({
  tasks,
  payments,
  used,
  payeeTransfers,
}: {
  tasks: AuditTask[];
  payments: AuditX402Row[];
  /** AuthorizationUsed events whose authorizer is this agent. */
  used: AuthorizationUsedLog[];
  /** USDC transfers from the agent to an x402 payee (not a mint's payment, not to the user). */
  payeeTransfers: TransferLog[];
}): X402Comparison {
  const out: X402Comparison = {
    discrepancies: [],
    ledgerPaid: 0n,
    chainPaid: payeeTransfers.reduce((a, t) => a + t.value, 0n),
    inFlightOpenTasks: 0n,
    inFlight: 0n,
  };
  const discrepancies = out.discrepancies;
  const usedByNonce = new Map(used.map((u) => [u.nonce.toLowerCase(), u]));
  const byTx = new Map<string, TransferLog[]>();
  for (const t of payeeTransfers) byTx.set(t.txHash.toLowerCase(), [...(byTx.get(t.txHash.toLowerCase()) ?? []), t]);
  const consumed = new Set<TransferLog>();
  /** The payee transfer an authorization's use made: same transaction, payee and amount (a seller may settle several in one). */
  const take = (txHash: string, payTo: string, amount: bigint) => {
    const transfer = (byTx.get(txHash.toLowerCase()) ?? []).find(
      (t) => !consumed.has(t) && t.to === payTo && t.value === amount,
    );
    if (transfer) consumed.add(transfer);
    return transfer;
  };
  const open = new Set(tasks.filter((t) => t.status === 'funded' || t.status === 'processing').map((t) => t.id));

  for (const row of payments) {
    const use = usedByNonce.get(row.nonce.toLowerCase());
    const paid = use && take(use.txHash, row.payTo.toLowerCase(), row.amount);
    const where = { taskId: row.taskId, sequenceNumber: row.sequenceNumber };
    if (row.status === 'settled') {
      out.ledgerPaid += row.amount;
      if (!paid)
        discrepancies.push({
          kind: 'x402_mismatch',
          ...where,
          txHash: row.settlementTxHash ?? undefined,
          expected: row.amount.toString(),
          actual: '0',
          amount: (-row.amount).toString(),
          message: use
            ? `x402 payment ${row.sequenceNumber} is settled in the ledger; its authorization was used in ${use.txHash} without moving ${row.amount} to ${row.payTo}`
            : `x402 payment ${row.sequenceNumber} is settled in the ledger (tx ${row.settlementTxHash ?? 'none'}) but its authorization was not used in the audited blocks`,
        });
      else if (row.settlementTxHash && row.settlementTxHash.toLowerCase() !== paid.txHash.toLowerCase())
        discrepancies.push({
          kind: 'x402_mismatch',
          ...where,
          txHash: paid.txHash,
          expected: row.settlementTxHash,
          actual: paid.txHash,
          message: `x402 payment ${row.sequenceNumber} was settled in ${paid.txHash}; the ledger has ${row.settlementTxHash}`,
        });
    } else if (DEAD.has(row.status)) {
      if (paid)
        discrepancies.push({
          kind: 'x402_dead_authorization_settled',
          ...where,
          txHash: paid.txHash,
          expected: row.status,
          actual: 'settled',
          amount: row.amount.toString(),
          message: `x402 payment ${row.sequenceNumber} is ${row.status} in the ledger, but its authorization was settled in ${paid.txHash}: ${row.amount} went to ${row.payTo}`,
        });
    } else if (paid) {
      out.inFlight += row.amount;
      if (open.has(row.taskId)) out.inFlightOpenTasks += row.amount;
    }
  }

  for (const t of payeeTransfers) {
    if (consumed.has(t)) continue;
    discrepancies.push({
      kind: 'x402_mismatch',
      txHash: t.txHash,
      expected: '0',
      actual: t.value.toString(),
      amount: t.value.toString(),
      message: `${t.value} USDC reached x402 payee ${t.to} outside any payment in the ledger`,
    });
  }
  return out;
}
