import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { formatUnits } from 'viem';
import { AppError } from '../../errors';
import { getTaskStatus } from '../../tasks/task-status';
import type { TaskDto, X402ClaimDto } from '../../tasks/serialize';
import { fundLinkOf, taskResourceUri, type McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { isTaskId, taskIdInput } from './inputs';

const NEXT_STEP: Record<TaskDto['status'], string> = {
  pending_payment: 'Waiting for the user to open fundLink and sign the USDC authorization in their wallet.',
  funded: 'Paid; a mint worker will start it shortly.',
  processing: 'Minting in paced batches; mintsCompleted grows as they land.',
  completed: "Done: every mint landed and the tokens are in the user's wallet.",
  failed:
    'Stopped after repeated errors (errorMessage says why). retry_task resumes it; mints already done are not repeated.',
  cancelled: "Cancelled. USDC it did not spend stays in the user's agent wallet (see wallet, withdraw).",
};

/** The open claims in words, for an assistant to relay: who took what, and that nothing more goes there. */
function claimNote(open: X402ClaimDto[]) {
  const taken = formatUnits(
    open.reduce((sum, c) => sum + BigInt(c.amount), 0n),
    6,
  );
  return `The seller at ${open[0]!.host} settled ${open.length} payment(s) (${taken} USDC) without delivering the tokens: the task stopped there and pays it nothing more. Each claim keeps the evidence (settlement transaction, what arrived, the seller's answer). The rest of the task's USDC stays the user's (see wallet, withdraw).`;
}

/** A task as an assistant reads it: the DTO, its USDC in words, its progress, and what happens next. */
export async function describeTask(ctx: McpContext, taskId: string, userAddress: string) {
  if (!isTaskId(taskId)) throw new AppError('not_found:task', 'No such task.');
  const { task, mints, payments, claims } = await getTaskStatus({ taskId, userAddress });
  const open = claims?.filter((c) => c.status === 'open') ?? [];
  return {
    task,
    ...(payments ? { payments } : {}),
    ...(claims ? { claims } : {}),
    ...(open.length ? { claimNote: claimNote(open) } : {}),
    totalCostUsdc: formatUnits(BigInt(task.totalCost), 6),
    progress: `${task.mintsCompleted} of ${task.quantity} mints done${task.mintsFailed ? `, ${task.mintsFailed} failed` : ''}`,
    mints,
    nextStep: NEXT_STEP[task.status],
    ...(task.status === 'pending_payment' ? { fundLink: fundLinkOf(ctx, task.id) } : {}),
    resourceUri: taskResourceUri(task.id),
  };
}

export function registerTaskStatusTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'task_status',
    {
      description:
        "One of the user's tasks: status (pending_payment → funded → processing → completed; or failed, cancelled), mints done (tokens delivered to the user) and failed, each mint's transaction, for an x402 task its payments (settled, open, refused) and claims (payments the seller took without delivering: amount, settlement transaction, what arrived, the seller's answer), cost, and the fund link while it awaits payment.",
      inputSchema: taskIdInput,
      annotations: { title: 'Task status', readOnlyHint: true },
      scope: 'read',
      verb: 'read tasks',
    },
    async ({ taskId }, caller, use) => {
      const described = await describeTask(ctx, taskId, caller.userAddress);
      use.taskId = described.task.id;
      return described;
    },
  );
}
