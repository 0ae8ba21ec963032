import type { TaskProgress } from '@/db/task-queue';
import type { TaskWithAgent } from '@/db/tasks';
import type { Reporter, TaskRef } from './reporter';

// What a mint route implements so that the one task loop (run-task.ts) runs its tasks. The loop
// owns the lease, shutdown, cancel checks, terminal transitions, backoff and attempts; a route
// owns how it reconciles, signs, sends and settles. A new route is a folder with an executor and
// one line in route-registry.ts, as graphile-worker has one job runner and many task handlers.

/** What the loop hands a route for one task run. */
export type RunOptions = {
  workerId: string;
  reporter: Reporter;
  /** The worker drains: batches in flight finish, nothing new starts. */
  drain: AbortSignal;
  /** The worker drains or the task's owner asked to cancel: for waits and requests a cancel should cut short. */
  stop: AbortSignal;
};

/** Why a task ends: every mint is done, its owner cancelled it, or no retry can help (`reason` says why). */
export type Ending = { outcome: 'completed'; reason?: undefined } | { outcome: 'cancelled' | 'failed'; reason: string };

/** How a turn (or a step of winding down) ended. */
export type TurnEnd =
  /** The loop moves the task to `end`; `message` is its error message (for a cancel, a note such as a claim). */
  | { end: 'completed' | 'cancelled' | 'failed'; message?: string }
  /** The run gives the task back; it stays processing and is claimed again after `ms` (something must expire first). */
  | { end: 'deferred'; ms: number; message: string }
  /**
   * More to do. `paced`: MINT_INTERVAL_MS before the next turn; `waitMs`: the route's own wait;
   * the longer of the two. A cancel cuts the wait short unless `outlastsCancel`.
   */
  | { end?: undefined; paced?: boolean; waitMs?: number; outlastsCancel?: boolean };

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
 * I/O; `Ready` is what `prepare` hands the turn's batch: the run with what signing needs loaded
 * (loaded on the first turn, and retried like any chain read until that succeeds), plus anything
 * the turn read on the way.
 */
export interface TaskExecutor<Run extends { task: TaskRef }, Ready = Run> {
  start(task: TaskWithAgent, options: RunOptions): Run;
  /**
   * Brings the route's ledger in line with the chain (whatever a crash, an error or a pipeline
   * left open) and loads what signing needs. Returns the task's progress as it now stands, which
   * the loop reads for completion and cancel requests, and the ending the route is already
   * winding down to, if any (it goes first); undefined when the task is not processing.
   */
  prepare(run: Run): Promise<{ progress: TaskProgress; ready: Ready; ending?: Ending } | undefined>;
  /** One turn's work: a batch (or, unpaced, a pipeline of batches) signed, written, sent and settled. */
  runBatch(ready: Ready, progress: TaskProgress): Promise<TurnEnd>;
  /**
   * One step of ending the task: closes what the route still holds open (x402: authorizations a
   * seller could still use). The loop ends the task when this returns an `end`; otherwise it
   * waits as asked and the next turn goes on (a route that needs several steps remembers why it
   * stops). Without it a task ends at once.
   */
  windDown?(run: Run, ending: Ending): Promise<TurnEnd>;
  classify(error: unknown): Failure;
}
