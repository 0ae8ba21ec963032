import { getAddress } from 'viem';
import type { X402Terms } from '@/db/schema';
import type { TaskWithAgent } from '@/db/tasks';

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
  };
}

/** The task as the API and the chat show it: checksummed addresses, amounts as decimal strings. */
export function toTaskDto(task: TaskWithAgent) {
  return {
    id: task.id,
    status: task.status,
    userAddress: getAddress(task.userAddress),
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
    errorMessage: task.errorMessage,
    cancelRequested: task.cancelRequested,
    createdAt: task.createdAt.toISOString(),
    fundedAt: task.fundedAt?.toISOString() ?? null,
    startedAt: task.startedAt?.toISOString() ?? null,
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

export type TaskDto = ReturnType<typeof toTaskDto>;
