import { renewTaskLease } from '@/db/task-queue';

/**
 * Keeps one task's lease alive: renews every leaseMs/3, so two renewals can fail (a slow or
 * briefly unreachable database) before the lease runs out. Once the database says another
 * worker owns the task, or no renewal succeeded for a whole lease, `lost` is set and the
 * executor stops before signing anything else (the ledger write re-checks it in SQL too).
 */
export class LeaseKeeper {
  lost = false;
  cancelRequested = false;
  private lastRenewed = Date.now();
  private timer: NodeJS.Timeout;

  constructor(
    private readonly taskId: string,
    private readonly workerId: string,
    private readonly leaseMs: number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.timer = setInterval(() => void this.renew(), Math.max(200, Math.floor(leaseMs / 3)));
  }

  async renew() {
    if (this.lost) return;
    try {
      const result = await renewTaskLease({ id: this.taskId, workerId: this.workerId, leaseMs: this.leaseMs });
      if (!result) {
        this.lost = true;
        return;
      }
      this.cancelRequested = result.cancelRequested;
      this.lastRenewed = Date.now();
    } catch (error) {
      if (Date.now() - this.lastRenewed > this.leaseMs) this.lost = true;
      this.onError(error);
    }
  }

  stop() {
    clearInterval(this.timer);
  }
}
