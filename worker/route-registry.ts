import type { TaskWithAgent } from '@/db/tasks';
import { contractExecutor } from './contract/executor';
import { executeX402Task } from './x402/execute';
import type { Outcome } from './reporter';
import { runTask } from './run-task';
import type { RunOptions } from './task-executor';

/** Runs a claimed task until it completes, fails, is cancelled or is given back. */
type RunRoute = (task: TaskWithAgent, options: RunOptions) => Promise<Outcome>;

// One line per mint route (`task.route`): its executor, run by the one task loop (run-task.ts).
const routes: Record<TaskWithAgent['route'], RunRoute> = {
  contract: (task, options) => runTask(contractExecutor, task, options),
  // Still its own loop while worker/x402 is being rewritten; then an executor like the contract's.
  x402: executeX402Task,
};

/** Runs a claimed task with its route's executor: the loop (loop.ts) knows nothing else about routes. */
export function runClaimedTask(task: TaskWithAgent, options: RunOptions): Promise<Outcome> {
  return routes[task.route](task, options);
}
