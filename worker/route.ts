import type { TaskWithAgent } from '@/db/tasks';
import { executeContractTask } from './contract/mint-executor';
import type { Outcome, Reporter } from './reporter';

/** What the loop hands every route's executor: who it is, where to report, when to drain. */
export type ExecuteOptions = { workerId: string; reporter: Reporter; drain: AbortSignal };

/**
 * One route's executor: runs a claimed task until it completes, fails, is cancelled or is given
 * back (shutdown, lost lease). The loop knows nothing else about how a route mints.
 */
export type RouteExecutor = (task: TaskWithAgent, options: ExecuteOptions) => Promise<Outcome>;

// Until worker/x402/ is in this build, an x402 task is refused loudly rather than run as a
// contract mint; the throw leaves the task processing, so a build that has it picks it up.
const x402Unavailable: RouteExecutor = async (task) => {
  throw new Error(`task ${task.id}: x402 route not available in this build`);
};

const executors: Record<TaskWithAgent['route'], RouteExecutor> = {
  contract: executeContractTask,
  x402: x402Unavailable,
};

/** Runs a claimed task with its route's executor (`task.route`). */
export function executeTask(task: TaskWithAgent, options: ExecuteOptions): Promise<Outcome> {
  return executors[task.route](task, options);
}
