import { getAddress } from 'viem';
import type { X402Terms } from '@/db/schema';
import type { TaskWithAgent } from '@/db/tasks';
import type { X402Claim } from '@/db/x402-claims';
import { getConfig } from '@/lib/config';

/**
 * What a client may see of an x402 task's endpoint: the host and the public payment terms.
 * Never the URL's path, query or body, which may carry an API key or other secret.
 */
function endpointOf(terms: X402Terms | null) {
  if (!terms) return null;
  return {
    host: new URL(terms.url).host,
    version: terms.version,
    network: terms.requirement.network,
    asset: getAddress(terms.requirement.asset),
    payTo: getAddress(terms.requirement.payTo),
    mintsToUser: terms.mintsToUser,
    /** The asset's EIP-712 domain payments are signed for; `advertisedDomain` when the endpoint named another. */
    domain: terms.domain,
    advertisedDomain: terms.advertisedDomain ?? null,
    mintsPerPayment: publicMintsPerPayment(terms),
  };
}

/** How many mints a payment buys and why (lib/x402/bulk-pricing.ts), without the body field's name. */
export function publicMintsPerPayment(terms: X402Terms) {
  const m = terms.mintsPerPayment;
  if (!m) return null;
  return {
    max: m.max,
    reason: m.reason,
    ...(m.asked !== undefined ? { asked: m.asked } : {}),
    ...(m.askedAmount !== undefined ? { askedAmount: m.askedAmount } : {}),
  };
}

/** The token a claim is about, as far as the chain told: its symbol and decimals to show what arrived. */
export type ClaimTokenInfo = { symbol: string; decimals: number };

/** A claim (an x402 payment the seller took without delivering) as the task card, the ops command and the audit show it. */
export function toX402ClaimDto(claim: X402Claim, token?: ClaimTokenInfo) {
  return {
    id: claim.id,
    taskId: claim.taskId,
    userAddress: getAddress(claim.userAddress),
    paymentId: claim.paymentId,
    sequenceNumber: claim.sequenceNumber,
    status: claim.status,
    amount: claim.amount,
    host: claim.host,
    payTo: getAddress(claim.payTo),
    settlementTxHash: claim.settlementTxHash,
    httpStatus: claim.httpStatus,
    sellerAnswer: claim.sellerAnswer,
    token: getAddress(claim.token),
    tokenSymbol: token?.symbol ?? null,
    tokenDecimals: token?.decimals ?? null,
    arrivedAmount: claim.arrivedAmount,
    expectedAmount: claim.expectedAmount,
    createdAt: claim.createdAt.toISOString(),
    deliveredAt: claim.deliveredAt?.toISOString() ?? null,
  };
}

export type X402ClaimDto = ReturnType<typeof toX402ClaimDto>;

/** The task as the API and the chat show it: checksummed addresses, amounts as decimal strings. */
export function toTaskDto(task: TaskWithAgent) {
  return {
    id: task.id,
    status: task.status,
    userAddress: getAddress(task.userAddress),
    /** Present when the tokens go elsewhere than the user: the recipient an x402 sale bought them for. */
    ...(task.recipient && { recipient: getAddress(task.recipient) }),
    tokenAddress: getAddress(task.tokenAddress),
    route: task.route,
    endpoint: endpointOf(task.x402),
    chainId: task.chainId,
    quantity: task.quantity,
    pricePerMint: task.pricePerMint,
    totalCost: task.totalCost,
    mintsCompleted: task.mintsCompleted,
    mintsFailed: task.mintsFailed,
    agentAddress: getAddress(task.agentAddress),
    priority: task.priority,
    fundingTxHash: task.fundingTxHash,
    refund: refundOf(task),
    errorMessage: task.errorMessage,
    cancelRequested: task.cancelRequested,
    createdAt: task.createdAt.toISOString(),
    fundedAt: task.fundedAt?.toISOString() ?? null,
    startedAt: task.startedAt?.toISOString() ?? null,
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

export type TaskDto = ReturnType<typeof toTaskDto>;

/**
 * What the automatic refund (lib/wallets/refund.ts) did with what the task left unspent:
 * `pending` until it has looked at a completed or cancelled task (right after the end, or on the
 * worker's next tick), then `sent` with its transaction, or null when there was nothing to send
 * back, the task failed (a failed task keeps what a retry needs) or AUTO_REFUND is off.
 */
function refundOf(task: TaskWithAgent): { status: 'pending' } | { status: 'sent'; txHash: string } | null {
  if (task.refundTxHash) return { status: 'sent', txHash: task.refundTxHash };
  const ended = task.status === 'completed' || task.status === 'cancelled';
  return ended && !task.refundCheckedAt && getConfig().worker.autoRefund ? { status: 'pending' } : null;
}
