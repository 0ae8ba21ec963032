import { getAddress } from 'viem';
import type { TaskWithAgent } from '@/db/tasks';

/** The task as the API and the chat show it: checksummed addresses, amounts as decimal strings. */
export function toTaskDto(task: TaskWithAgent) {
  return {
    id: task.id,
    status: task.status,
    userAddress: getAddress(task.userAddress),
    tokenAddress: getAddress(task.tokenAddress),
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
