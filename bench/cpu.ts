import { existsSync, readdirSync, readFileSync } from 'node:fs';

// CPU time of the processes a benchmark runs on: this one (the worker runs in it) and the
// anvil and Postgres processes it started. Linux /proc; zeros elsewhere.

export type Cpu = { worker: number; anvil: number; postgres: number };

/** CPU ms used so far by this process and by its anvil and Postgres descendants (a dev stack's are not counted). */
export function cpuNow(): Cpu {
  const own = process.cpuUsage();
  const used: Cpu = { worker: (own.user + own.system) / 1000, anvil: 0, postgres: 0 };
  if (!existsSync('/proc/self/stat')) return used;
  const procs = new Map<number, { ppid: number; name: string; ms: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(pid), { ppid: Number(fields[1]), name, ms: (Number(fields[11]) + Number(fields[12])) * 10 }); // utime + stime, 10 ms ticks
    } catch {
      // the process ended meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = procs.get(pid)?.ppid; p; p = procs.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, { name, ms }] of procs) if ((name === 'anvil' || name === 'postgres') && ours(pid)) used[name] += ms;
  return used;
}

export const cpuSince = (before: Cpu): Cpu => {
  const now = cpuNow();
  return {
    worker: now.worker - before.worker,
    anvil: now.anvil - before.anvil,
    postgres: now.postgres - before.postgres,
  };
};

/** CPU ms used so far by one process (user + system), 0 where /proc is missing or it ended. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}
