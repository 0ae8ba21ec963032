import { decodeEventLog, erc20Abi, type Address, type Hex, type PublicClient } from 'viem';
import type { AuditTask, AuditX402Claim, AuditX402Delivery } from '@/db/audit';
import { testUSDCAbi } from '../chain/contracts.generated';
import type { AuthorizationUsedLog, ReceiptFacts } from './chain-facts';
import type { ClaimAudit, Discrepancy } from './types';

// What an x402 task's records say happened, checked against the receipts of the transactions
// they name — independent of the audited block range, since a claim or a delivery is evidence
// whenever it was made:
//   a delivery (ai_agent_x402_deliveries) is a Transfer of the task's token to its recipient, of
//     its amount, at (tx, logIndex);
//   a claim's settlement is a successful transaction in which the agent's authorization (the
//     payment's nonce) was used and the claim's USDC went from the agent to the seller's payee.

/** Receipts read at once (the audit client batches them), at most this many in flight. */
const RECEIPTS_IN_FLIGHT = 20;

export async function readReceipts(client: PublicClient, hashes: string[]): Promise<Map<string, ReceiptFacts | null>> {
  const out = new Map<string, ReceiptFacts | null>();
  const todo = [...new Set(hashes.map((h) => h.toLowerCase()))];
  for (let i = 0; i < todo.length; i += RECEIPTS_IN_FLIGHT) {
    await Promise.all(
      todo.slice(i, i + RECEIPTS_IN_FLIGHT).map(async (hash) => {
        const receipt = await client.getTransactionReceipt({ hash: hash as Hex }).catch((error: unknown) => {
          if ((error as { name?: string }).name === 'TransactionReceiptNotFoundError') return null;
          throw error;
        });
        out.set(
          hash,
          receipt && {
            success: receipt.status === 'success',
            blockNumber: receipt.blockNumber,
            logs: receipt.logs.map((l) => ({
              address: l.address.toLowerCase() as Address,
              topics: l.topics,
              data: l.data,
              logIndex: l.logIndex,
            })),
          },
        );
      }),
    );
  }
  return out;
}

type Transfer = { token: Address; from: Address; to: Address; value: bigint; logIndex: number };

function transfersOf(receipt: ReceiptFacts): Transfer[] {
  const out: Transfer[] = [];
  for (const log of receipt.logs) {
    try {
      const event = decodeEventLog({ abi: erc20Abi, eventName: 'Transfer', topics: log.topics, data: log.data });
      out.push({
        token: log.address,
        from: event.args.from.toLowerCase() as Address,
        to: event.args.to.toLowerCase() as Address,
        value: event.args.value,
        logIndex: log.logIndex,
      });
    } catch {
      // Not a Transfer (or an ERC-721 one, with its value indexed): not a token delivery.
    }
  }
  return out;
}

function authorizationsUsedIn(receipt: ReceiptFacts, usdc: Address): { authorizer: Address; nonce: Hex }[] {
  const out = [];
  for (const log of receipt.logs) {
    if (log.address !== usdc) continue;
    try {
      const event = decodeEventLog({
        abi: testUSDCAbi,
        eventName: 'AuthorizationUsed',
        topics: log.topics,
        data: log.data,
      });
      out.push({
        authorizer: event.args.authorizer.toLowerCase() as Address,
        nonce: event.args.nonce.toLowerCase() as Hex,
      });
    } catch {
      // Another of the asset's events.
    }
  }
  return out;
}

type Found = Omit<Discrepancy, 'user' | 'agent'>;

/** Each counted delivery of the user's tasks is on chain as the ledger has it, else x402_delivery_not_on_chain. */
export function checkDeliveries({
  tasks,
  deliveries,
  receipts,
  user,
  agent,
}: {
  tasks: AuditTask[];
  deliveries: AuditX402Delivery[];
  receipts: Map<string, ReceiptFacts | null>;
  user: Address;
  agent: Address;
}): Found[] {
  const found: Found[] = [];
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  for (const row of deliveries) {
    const task = taskById.get(row.taskId);
    if (!task) continue;
    const receipt = receipts.get(row.txHash);
    const log = receipt?.success ? transfersOf(receipt).find((t) => t.logIndex === row.logIndex) : undefined;
    const wrong = !receipt
      ? `transaction ${row.txHash} is not on chain`
      : !receipt.success
        ? `transaction ${row.txHash} reverted`
        : !log
          ? `log ${row.logIndex} of ${row.txHash} is no token Transfer`
          : log.token !== task.tokenAddress.toLowerCase()
            ? `log ${row.logIndex} moved ${log.token}, the task buys ${task.tokenAddress}`
            : log.to !== row.recipient || (log.to !== (task.recipient?.toLowerCase() ?? user) && log.to !== agent)
              ? `log ${row.logIndex} went to ${log.to}, neither the task's ${task.recipient ? 'recipient' : 'user'} nor the agent as the ledger has it (${row.recipient})`
              : log.value !== row.amount
                ? `log ${row.logIndex} moved ${log.value}, the ledger counted ${row.amount}`
                : undefined;
    if (wrong)
      found.push({
        kind: 'x402_delivery_not_on_chain',
        taskId: row.taskId,
        txHash: row.txHash,
        expected: row.amount.toString(),
        actual: (log?.value ?? 0n).toString(),
        amount: row.amount.toString(),
        message: `a delivery counted for x402 task ${row.taskId} is not on chain as counted: ${wrong}`,
      });
  }
  return found;
}

/**
 * Every claim of the user's tasks with its settlement checked on chain: the transaction the
 * claim names (or, when the seller named none, the one that used the payment's authorization)
 * used the agent's authorization and moved the claim's USDC from the agent to its payee.
 * Anything else is x402_claim_unverified: the record would accuse a seller of a payment the
 * chain does not show.
 */
export function checkClaims({
  claims,
  receipts,
  used,
  usdc,
  user,
  agent,
}: {
  claims: AuditX402Claim[];
  receipts: Map<string, ReceiptFacts | null>;
  /** AuthorizationUsed events of this agent in the audited range (for a claim without a named transaction). */
  used: AuthorizationUsedLog[];
  usdc: Address;
  user: Address;
  agent: Address;
}): { claims: ClaimAudit[]; discrepancies: Found[] } {
  const usedByNonce = new Map(used.map((u) => [u.nonce.toLowerCase(), u.txHash.toLowerCase()]));
  const out: ClaimAudit[] = [];
  const discrepancies: Found[] = [];
  for (const claim of claims) {
    const txHash = claim.settlementTxHash ?? usedByNonce.get(claim.nonce);
    const receipt = txHash ? receipts.get(txHash) : undefined;
    const authorized =
      receipt?.success &&
      authorizationsUsedIn(receipt, usdc).some((a) => a.authorizer === agent && a.nonce === claim.nonce);
    const paid =
      receipt?.success &&
      transfersOf(receipt).some(
        (t) => t.token === usdc && t.from === agent && t.to === claim.payTo && t.value === claim.amount,
      );
    const problem = !txHash
      ? 'no settlement transaction is named, and none used its authorization in the audited blocks'
      : !receipt
        ? `its settlement transaction ${txHash} is not on chain`
        : !receipt.success
          ? `its settlement transaction ${txHash} reverted`
          : !authorized
            ? `${txHash} did not use the payment's authorization (nonce ${claim.nonce})`
            : !paid
              ? `${txHash} did not move ${claim.amount} USDC from the agent to ${claim.payTo}`
              : undefined;
    out.push({
      id: claim.id,
      user,
      agent,
      taskId: claim.taskId,
      sequenceNumber: claim.sequenceNumber,
      payTo: claim.payTo,
      amount: claim.amount.toString(),
      status: claim.status,
      createdAt: claim.createdAt.toISOString(),
      settlementTxHash: txHash ?? null,
      settlementBlock: receipt ? receipt.blockNumber.toString() : null,
      verified: problem === undefined,
      ...(problem && { problem }),
    });
    if (problem)
      discrepancies.push({
        kind: 'x402_claim_unverified',
        taskId: claim.taskId,
        sequenceNumber: claim.sequenceNumber,
        txHash: txHash ?? undefined,
        expected: claim.amount.toString(),
        actual: '0',
        amount: claim.amount.toString(),
        message: `claim ${claim.id} (x402 payment ${claim.sequenceNumber} to ${claim.payTo}): ${problem}`,
      });
  }
  return { claims: out, discrepancies };
}
