import type { TaskWithAgent } from '@/db/tasks';
import { contractExecutor } from './contract/executor';
import { x402Executor } from './x402/executor';
import type { Outcome } from './reporter';
import { runTask } from './run-task';
import type { RunOptions } from './task-executor';

/** Runs a claimed task until it completes, fails, is cancelled or is given back. */
type RunRoute = (task: TaskWithAgent, options: LoopOptions) => Promise<Outcome>;
/** What the worker loop passes on (the task loop adds the stop signal). */
type LoopOptions = Omit<RunOptions, 'stop'>;

// One line per mint route (`task.route`): its executor, run by the one task loop (run-task.ts).
const routes: Record<TaskWithAgent['route'], RunRoute> = {
  contract: (task, options) => runTask(contractExecutor, task, options),
  x402: (task, options) => runTask(x402Executor, task, options),
};

/** Runs a claimed task with its route's executor: the loop (loop.ts) knows nothing else about routes. */
export function runClaimedTask(task: TaskWithAgent, options: LoopOptions): Promise<Outcome> {
  return routes[task.route](task, options);
}
