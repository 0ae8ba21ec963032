import { getMetrics, recordGasSpent } from './registry';

// One call per worker event (worker/reporter.ts calls these), so the mint code itself carries
// no metrics code. Task duration is measured from when this process started running the task
// (a task resumed after a crash counts from its resumption).

const taskStarts = new Map<string, number>();
// Per task, so a batch that ends without settling every mint (drain, lost lease) cannot leave
// the gauge drifting: the batch's end resets its task's count.
const inFlight = new Map<string, number>();

function setInFlight(taskId: string, n: number | undefined) {
  if (n === undefined || n <= 0) inFlight.delete(taskId);
  else inFlight.set(taskId, n);
  getMetrics().txInFlight.set([...inFlight.values()].reduce((a, b) => a + b, 0));
}

export const workerMetrics = {
  taskStarted(taskId: string) {
    taskStarts.set(taskId, performance.now());
  },
  batchSent(taskId: string, size: number) {
    getMetrics().mintsSent.inc(size);
    setInFlight(taskId, size);
  },
  mintConfirmed(taskId: string, mint: { gasUsed?: bigint | null; effectiveGasPrice?: bigint | null }) {
    getMetrics().mintsConfirmed.inc();
    setInFlight(taskId, (inFlight.get(taskId) ?? 0) - 1);
    if (typeof mint.gasUsed === 'bigint' && typeof mint.effectiveGasPrice === 'bigint')
      recordGasSpent(mint.gasUsed, mint.effectiveGasPrice);
  },
  mintFailed(taskId: string) {
    getMetrics().mintsFailed.inc();
    setInFlight(taskId, (inFlight.get(taskId) ?? 0) - 1);
  },
  batchRecorded(taskId: string, durationMs: number) {
    getMetrics().batchDuration.observe(durationMs / 1000);
    setInFlight(taskId, 0);
  },
  taskFinished(taskId: string, outcome: string) {
    setInFlight(taskId, 0);
    const started = taskStarts.get(taskId);
    taskStarts.delete(taskId);
    if (started !== undefined && outcome !== 'released') {
      getMetrics().taskDuration.observe({ status: outcome }, (performance.now() - started) / 1000);
    }
  },
};
