import type { TaskWithAgent } from '@/db/tasks';
import { executeContractTask } from './contract/mint-executor';
import { executeX402Task } from './x402/execute';
import type { Outcome, Reporter } from './reporter';

/** What the loop hands every route's executor: who it is, where to report, when to drain. */
export type ExecuteOptions = { workerId: string; reporter: Reporter; drain: AbortSignal };

/**
 * One route's executor: runs a claimed task until it completes, fails, is cancelled or is given
 * back (shutdown, lost lease). The loop knows nothing else about how a route mints.
 */
export type RouteExecutor = (task: TaskWithAgent, options: ExecuteOptions) => Promise<Outcome>;

const executors: Record<TaskWithAgent['route'], RouteExecutor> = {
  contract: executeContractTask,
  x402: executeX402Task,
};

/** Runs a claimed task with its route's executor (`task.route`). */
export function executeTask(task: TaskWithAgent, options: ExecuteOptions): Promise<Outcome> {
  return executors[task.route](task, options);
}
