import { getConfig } from '@/lib/config';

export type CrashPoint = 'after-ledger-write' | 'after-broadcast' | 'mid-batch' | 'two-in-flight';

const seen = new Map<CrashPoint, number>();

/**
 * Test hook (WORKER_CRASH_AT=point[:N]): SIGKILL this process the Nth time it reaches `point`,
 * exactly like `kill -9` — no shutdown handler, no flushed buffers, open sockets just drop.
 */
export function crashPoint(point: CrashPoint) {
  const spec = getConfig().worker.crashAt;
  if (!spec) return;
  const [wanted, nth = '1'] = spec.split(':');
  if (wanted !== point) return;
  const count = (seen.get(point) ?? 0) + 1;
  seen.set(point, count);
  if (count === Number(nth)) process.kill(process.pid, 'SIGKILL');
}
