import { writeAndSettleMints, writeRefused } from '@/db/mint-records';
import { crashPoint } from '../crash-points';
import { clocks, leaseProven } from '../fence';
import type { SettledBatch, SignedBatch, TaskRuntime } from './runtime';
import type { Settlement } from './settlement';

// A batch's two ledger writes, the same for both ways of executing: every mint is written,
// signed transaction and all, before anything is broadcast; and the batch is settled (ledger
// rows and the task's progress) once the chain has answered. Both go through the run's ledger
// writer, one statement at a time and in order, and a write carries the settles queued before
// it (group commit): unpaced, a 200-mint task at batch 10 made 40 such statements, now ~20.

/**
 * How long a settle waits for a ledger write to ride with before it is written alone. Unpaced,
 * the next batch's write follows within a few milliseconds; when none comes (the last batches,
 * a pipeline waiting for a top-up) the progress the user sees lags by at most this.
 */
export const SETTLE_LINGER_MS = 20;

type Queued<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };
type QueuedWrite = Queued<void> & { batch: SignedBatch };
type QueuedSettle = Queued<SettledBatch> & { settlement: Settlement; size: number; started: number };

/**
 * One task run's ledger writes, one statement at a time, in the order they were asked for: a
 * write commits after every write asked for before it (in the same statement or an earlier
 * one), so a crash never leaves a later batch in the ledger above an earlier one that never was
 * (a nonce gap no reconciliation can close; the pipelined crash test found it). Once a write is
 * refused (the lease is gone, a mint is already signed) every later one is refused too.
 * Settles wait up to `lingerMs` for a write to ride with; writes never wait.
 */
export class LedgerWriter {
  private writes: QueuedWrite[] = [];
  private settles: QueuedSettle[] = [];
  private busy = false;
  /** Settles have lingered long enough (or a flush was asked for): they go with the next statement, write or not. */
  private due = false;
  private refused: unknown;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly rt: TaskRuntime,
    private readonly lingerMs = 0,
  ) {}

  /** Resolves once the batch's mints are committed; its broadcast may follow. */
  write(batch: SignedBatch): Promise<void> {
    if (this.refused !== undefined) return Promise.reject(this.refused);
    return new Promise<void>((resolve, reject) => {
      this.writes.push({ batch, resolve, reject });
      this.next();
    });
  }

  /** Resolves with the task's progress once the settlement is committed, and reports it. */
  settle(settlement: Settlement, { size, started }: { size: number; started: number }): Promise<SettledBatch> {
    return new Promise<SettledBatch>((resolve, reject) => {
      this.settles.push({ settlement, size, started, resolve, reject });
      if (this.lingerMs === 0) this.due = true;
      else
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.due = true;
          this.next();
        }, this.lingerMs);
      this.next();
    });
  }

  /** Writes whatever is queued now, without lingering. */
  flush() {
    if (this.settles.length) this.due = true;
    this.next();
  }

  private next() {
    if (this.busy) return; // the statement in flight starts the next when it is done
    if (this.writes.length === 0 && !(this.due && this.settles.length > 0)) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = false;
    const writes = this.writes.splice(0);
    const settles = this.settles.splice(0);
    this.busy = true;
    void this.commit(writes, settles).finally(() => {
      this.busy = false;
      this.next();
    });
  }

  private async commit(writes: QueuedWrite[], settles: QueuedSettle[]) {
    const { rt } = this;
    const mints = this.refused === undefined ? writes.flatMap((w) => w.batch.mints) : [];
    const checkedAt = clocks();
    let result;
    try {
      result = await writeAndSettleMints({
        taskId: rt.task.id,
        workerId: rt.workerId,
        mints,
        confirmed: settles.flatMap((s) => s.settlement.confirmed),
        failed: settles.flatMap((s) => s.settlement.failed),
      });
    } catch (error) {
      if (writes.length) this.refused ??= error;
      for (const op of [...writes, ...settles]) op.reject(error);
      return;
    }
    if (settles.length) this.recorded(settles, result.progress);
    if (writes.length === 0) return;
    if (this.refused !== undefined || !result.written) {
      this.refused ??= writeRefused(rt.task.id, result.leaseMs);
      for (const w of writes) w.reject(this.refused);
      return;
    }
    leaseProven(rt, checkedAt, result.leaseMs!);
    for (const { batch, resolve } of writes) {
      crashPoint('after-ledger-write');
      const { plan, mints: batchMints } = batch;
      rt.reporter.batchStarted(rt.task, { size: batchMints.length, sequences: plan.sequences, nonce: plan.nonce });
      resolve();
    }
  }

  private recorded(settles: QueuedSettle[], progress: SettledBatch['progress']) {
    const { rt } = this;
    if (progress) rt.task.mintsCompleted = progress.mintsCompleted;
    for (const { settlement, size, started, resolve } of settles) {
      // When every mint was confirmed the progress spares the next turn its ledger read.
      rt.settled = progress && settlement.confirmed.length === size ? progress : undefined;
      for (const c of settlement.confirmed) rt.reporter.minted(rt.task, c);
      for (const f of settlement.failed) rt.reporter.mintFailed(rt.task, f);
      rt.reporter.batchRecorded(rt.task, {
        confirmed: settlement.confirmed.length,
        failed: settlement.failed.length,
        durationMs: Date.now() - started,
      });
      resolve({ settlement, progress });
    }
  }
}
