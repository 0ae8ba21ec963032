import type { TaskProgress } from '@/db/task-queue';
import type { TaskWithAgent } from '@/db/tasks';
import type { Reporter, TaskRef } from './reporter';

// What a mint route implements so that the one task loop (run-task.ts) runs its tasks. The loop
// owns the lease, shutdown, cancel checks, terminal transitions, backoff and attempts; a route
// owns how it reconciles, signs, sends and settles. A new route is a folder with an executor and
// one line in route-registry.ts, as graphile-worker has one job runner and many task handlers.

/** What the loop hands a route for one task run: who runs it, where it reports, when to drain. */
export type RunOptions = { workerId: string; reporter: Reporter; drain: AbortSignal };

/** How a turn's batch ended. */
export type BatchEnd =
  /** Every mint is delivered: the loop completes the task. */
  | { end: 'completed' }
  /** Nothing a retry could change (`message` says why, for the task's owner): the loop fails the task. */
  | { end: 'failed'; message: string }
  /** More to do. `paced`: MINT_INTERVAL_MS before the next turn; `waitMs`: the route's own wait; the longer of the two. */
  | { end?: undefined; paced?: boolean; waitMs?: number };

/** How an error thrown from a turn counts. */
export type Failure = {
  /** transient: retried with backoff, never counted (an RPC outage is not the user's fault); revert: one attempt. */
  kind: 'transient' | 'revert';
  reason: string;
  /** Written for the task's owner: the task's error message if it fails. */
  message: string;
  /** No retry can cure it (a mint over the gas cap, a spent gas budget): the task fails at once. */
  final?: boolean;
};

/**
 * One route's executor. `Run` is its state for one task run, made from the claimed task without
 * I/O; `Ready` is that state once what signing needs is loaded (the agent's wallet, a signer),
 * which `prepare` does on the first turn and retries, like any chain read, until it succeeds.
 */
export interface TaskExecutor<Run extends { task: TaskRef }, Ready = Run> {
  start(task: TaskWithAgent, options: RunOptions): Run;
  /**
   * Brings the route's ledger in line with the chain (whatever a crash, an error or a pipeline
   * left open) and loads what signing needs. Returns the task's progress as it now stands
   * (undefined: the task is gone), which the loop reads for completion and cancel requests.
   */
  prepare(run: Run): Promise<{ progress: TaskProgress | undefined; ready: Ready }>;
  /** One turn's work: a batch (or, unpaced, a pipeline of batches) signed, written, sent and settled. */
  runBatch(ready: Ready, progress: TaskProgress): Promise<BatchEnd>;
  /** Settles or cancels what the route still holds open, before the loop cancels the task. */
  cancelOpen?(ready: Ready): Promise<void>;
  classify(error: unknown): Failure;
}
