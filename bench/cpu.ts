import { existsSync, readdirSync, readFileSync } from 'node:fs';

// CPU time of the processes a benchmark runs on: the worker (this process, or a worker child)
// and the anvil and Postgres processes this process started. Linux /proc; zeros elsewhere.
// Read from each thread's schedstat (nanoseconds on CPU) where the kernel has it: a 200-mint run
// takes 50–100 ms of anvil's and Postgres's CPU, which /proc/<pid>/stat counts in 10 ms ticks.
// (A thread that exits inside the window takes its time with it; the tick count of
// /proc/<pid>/stat keeps it, and is the fallback.)

export type Cpu = { worker: number; anvil: number; postgres: number };

const hasSchedstat = existsSync('/proc/self/schedstat');

/** CPU ms used so far by one process, all its threads (user + system); 0 where /proc is missing or it ended. */
export function processCpuMs(pid: number): number {
  if (hasSchedstat) {
    try {
      let ns = 0;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        } catch {
          // the thread ended meanwhile
        }
      }
      return ns / 1e6;
    } catch {
      return 0;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 10 ms ticks
  } catch {
    return 0;
  }
}

/** The anvil and Postgres processes this process started (a dev stack's are not counted). */
function ownStackProcesses(): { pid: number; name: 'anvil' | 'postgres' }[] {
  if (!existsSync('/proc/self/stat')) return [];
  const procs = new Map<number, { ppid: number; name: string }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(pid), { ppid: Number(fields[1]), name });
    } catch {
      // the process ended meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = procs.get(pid)?.ppid; p; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  const found: { pid: number; name: 'anvil' | 'postgres' }[] = [];
  for (const [pid, { name }] of procs)
    if ((name === 'anvil' || name === 'postgres') && ours(pid)) found.push({ pid, name });
  return found;
}

/** A reading of cpuNow: the worker's CPU ms and each anvil or Postgres process's. */
export type CpuReading = { worker: number; stack: Map<number, { name: 'anvil' | 'postgres'; ms: number }> };

/**
 * CPU ms used so far by the worker (this process, or the worker child `workerPid`) and by each
 * anvil and Postgres process this process started.
 */
export function cpuNow(workerPid?: number): CpuReading {
  const own = process.cpuUsage();
  const stack = new Map<number, { name: 'anvil' | 'postgres'; ms: number }>();
  for (const { pid, name } of ownStackProcesses()) stack.set(pid, { name, ms: processCpuMs(pid) });
  return { worker: workerPid === undefined ? (own.user + own.system) / 1000 : processCpuMs(workerPid), stack };
}

/**
 * CPU ms used since `before`, by process: one that started meanwhile (a Postgres backend or
 * autovacuum worker) counts from zero, one that ended counts nothing (never below zero).
 */
export function cpuSince(before: CpuReading, workerPid?: number): Cpu {
  const now = cpuNow(workerPid);
  const used: Cpu = { worker: now.worker - before.worker, anvil: 0, postgres: 0 };
  for (const [pid, { name, ms }] of now.stack) used[name] += Math.max(0, ms - (before.stack.get(pid)?.ms ?? 0));
  return used;
}

/** Per-mint figures of a run's CPU (ms per mint), and their total. */
export const perMint = (cpu: Cpu, mints: number) => ({
  worker: cpu.worker / mints,
  anvil: cpu.anvil / mints,
  postgres: cpu.postgres / mints,
  total: (cpu.worker + cpu.anvil + cpu.postgres) / mints,
});
