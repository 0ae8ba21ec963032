import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { getSql } from '@/db/client';
import { claimNext, expireUnpaidTasks } from '@/db/task-queue';
import { WORKER_WAKE_CHANNEL, type TaskWithAgent } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { getConfig } from '@/lib/config';
import { tidyIdleWallets, tidyWallet } from '@/lib/wallets/idle-wallet';
import { runClaimedTask } from './route-registry';
import { Reporter, type Outcome } from './reporter';

/** Idle wallets one tick tidies, one after another (each waits for its receipts, a block or two); the next tick takes the rest. */
const TIDIES_PER_TICK = 10;

/**
 * The worker loop, graphile-worker style: claim → run → finish, up to WORKER_CONCURRENCY tasks
 * at once (each on its own agent wallet). Wakes on NOTIFY from the fund and retry routes, and
 * polls every CHECK_INTERVAL_MS as a fallback (which also picks up tasks whose worker died and
 * cancels unpaid tasks past PAYMENT_TIMEOUT). `stop()` drains: no new claims, batches in flight
 * collect their receipts, leases are released.
 *
 * As soon as a task ends here its wallet is tidied (lib/wallets/idle-wallet.ts): what the task
 * did not spend goes back to the user (refund.ts) and the agent's unburnt gas to the operator
 * (sweep.ts): the top-up was sized for that task, and its user may not come back for days. The
 * tick tidies the wallets no task end did (a task cancelled while funded, a withdrawal's gas, a
 * worker that died, a wallet that was busy, wallets from before sweeps), a few at a time: they
 * are marked in the database, so the pass costs two indexed queries when there are none.
 */
export class MintWorker {
  readonly id: string;
  readonly reporter: Reporter;
  private readonly running = new Map<string, Promise<Outcome | undefined>>();
  private readonly drain = new AbortController();
  private stopping = false;
  private pumping = false;
  private again = false;
  private timer?: NodeJS.Timeout;
  private readonly tidying = new Set<Promise<void>>();
  private tidyingIdle = false;
  private unlisten?: () => Promise<void>;
  /** Called after each task run ends (tests and metrics hook here). */
  onTaskDone?: (task: TaskWithAgent, outcome: Outcome | undefined) => void;

  constructor(options: { id?: string; reporter?: Reporter } = {}) {
    this.id =
      options.id ?? getConfig().worker.id ?? `${os.hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
    this.reporter = options.reporter ?? new Reporter();
  }

  get runningCount() {
    return this.running.size;
  }

  async start() {
    const config = getConfig().worker;
    const listener = await getSql().listen(WORKER_WAKE_CHANNEL, () => this.pump());
    this.unlisten = listener.unlisten;
    this.timer = setInterval(() => void this.tick(), config.checkIntervalMs);
    this.reporter.workerStarted(this.id, config.concurrency);
    await this.tick();
  }

  private async tick() {
    try {
      await expireUnpaidTasks({ timeoutSeconds: getConfig().worker.paymentTimeoutSeconds });
    } catch (error) {
      this.reporter.error(undefined, error, 'payment timeout sweep failed');
    }
    this.pump();
    if (!this.tidyingIdle && !this.stopping) {
      this.tidyingIdle = true;
      this.tidyInBackground(
        () => tidyIdleWallets({ limit: TIDIES_PER_TICK, signal: this.drain.signal }),
        'idle agent wallets not tidied',
      ).finally(() => (this.tidyingIdle = false));
    }
  }

  /** Tidies beside the loop (it holds no task slot); `stop()` waits for it, and the drain cuts a sweep's wait for its receipt short. */
  private tidyInBackground(work: () => Promise<unknown>, failure: string, task?: TaskWithAgent): Promise<void> {
    const done: Promise<void> = work()
      .then(
        () => undefined,
        (error: unknown) => this.reporter.error(task, error, failure),
      )
      .finally(() => this.tidying.delete(done));
    this.tidying.add(done);
    return done;
  }

  private tidyAfter(task: TaskWithAgent) {
    void this.tidyInBackground(
      async () => {
        const wallet = await getWalletById({ id: task.agentWalletId });
        if (wallet) await tidyWallet(wallet, { signal: this.drain.signal });
      },
      'agent wallet not tidied after its task',
      task,
    );
  }

  /** Claims until the concurrency limit or the queue is empty; re-runs if woken meanwhile. */
  pump(): void {
    if (this.stopping) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopping && this.running.size < getConfig().worker.concurrency) {
            const claimed = await claimNext({
              workerId: this.id,
              leaseMs: getConfig().worker.leaseMs,
              exclude: [...this.running.keys()],
            });
            if (!claimed) break;
            if (this.stopping) break; // the claim's lease simply expires; never start after stop
            this.running.set(claimed.task.id, this.run(claimed.task));
            if (!claimed.more) break; // nothing else was waiting: no claim that finds nothing
          }
        } while (this.again && !this.stopping);
      } catch (error) {
        this.reporter.error(undefined, error, 'claim failed');
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async run(task: TaskWithAgent): Promise<Outcome | undefined> {
    let outcome: Outcome | undefined;
    try {
      outcome = await runClaimedTask(task, { workerId: this.id, reporter: this.reporter, drain: this.drain.signal });
    } catch (error) {
      // Most likely the database went away; the lease runs out and any worker retries the task.
      this.reporter.error(task, error, 'task run stopped');
    } finally {
      this.running.delete(task.id);
      if (outcome && outcome !== 'released' && !this.stopping) this.tidyAfter(task);
      this.onTaskDone?.(task, outcome);
      this.pump();
    }
    return outcome;
  }

  async stop() {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    this.reporter.workerStopping(this.running.size);
    this.drain.abort();
    await Promise.allSettled([...this.running.values()]);
    await Promise.allSettled([...this.tidying]);
    await this.unlisten?.().catch(() => {});
  }
}
