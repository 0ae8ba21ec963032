import type { AuditReport } from '@/lib/audit/types';
import type { FaultCounts } from './faults';

export type ChaosFigures = {
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  unfinished: number;
  mints: number;
  kills: number;
  stalls: number;
  outages: number;
  postgresRestarts: number;
  doubleMints: number;
  lostMints: number;
  discrepancies: number;
  revertedTxs: number;
};

/**
 * The run's figures from the final audit. Double: mints on chain beyond a task's quantity, or a
 * mintId used twice. Lost: mints the ledger confirmed that the chain does not have, and
 * completed tasks with fewer mints on chain than they bought.
 */
export function figuresOf(
  audit: AuditReport,
  faults: FaultCounts,
  statuses: Record<string, number>,
  tasks: number,
): ChaosFigures {
  const all = audit.users.flatMap((u) => u.tasks);
  return {
    tasks,
    completed: statuses.completed ?? 0,
    failed: statuses.failed ?? 0,
    cancelled: statuses.cancelled ?? 0,
    unfinished: tasks - (statuses.completed ?? 0) - (statuses.failed ?? 0) - (statuses.cancelled ?? 0),
    mints: all.reduce((a, t) => a + t.minted, 0),
    kills: faults.kill,
    stalls: faults.stall,
    outages: faults.outage,
    postgresRestarts: faults.postgres,
    doubleMints:
      all.reduce((a, t) => a + Math.max(0, t.minted - t.quantity), 0) +
      audit.discrepancies.filter((d) => d.kind === 'double_mint' && d.sequenceNumber !== undefined).length,
    lostMints: all.reduce(
      (a, t) =>
        a + Math.max(0, t.confirmed - t.minted) + (t.status === 'completed' ? Math.max(0, t.quantity - t.minted) : 0),
      0,
    ),
    discrepancies: audit.discrepancies.length,
    revertedTxs: audit.users.reduce((a, u) => a + u.eth.reverted, 0),
  };
}

/** Why the run fails, if it does: each missing fault kind and each non-zero count of harm. */
export function failuresOf(f: ChaosFigures): string[] {
  const out: string[] = [];
  if (f.doubleMints) out.push(`${f.doubleMints} double mint(s)`);
  if (f.lostMints) out.push(`${f.lostMints} lost mint(s)`);
  if (f.discrepancies) out.push(`${f.discrepancies} audit discrepanc(ies)`);
  if (f.unfinished) out.push(`${f.unfinished} task(s) did not end`);
  if (f.kills < 1) out.push('no worker was killed');
  if (f.stalls < 1) out.push('no worker stalled past its lease');
  if (f.outages < 1) out.push('no RPC outage');
  if (f.postgresRestarts < 1) out.push('no Postgres restart');
  return out;
}

export function printFigures(f: ChaosFigures) {
  const rows: [string, number][] = [
    ['tasks', f.tasks],
    ['  completed', f.completed],
    ['  failed', f.failed],
    ['  cancelled', f.cancelled],
    ['  unfinished', f.unfinished],
    ['mints', f.mints],
    ['kills (kill -9)', f.kills],
    ['stalls past the lease', f.stalls],
    ['RPC outages (10 s)', f.outages],
    ['Postgres restarts', f.postgresRestarts],
    ['double mints', f.doubleMints],
    ['lost mints', f.lostMints],
    ['audit discrepancies', f.discrepancies],
    ['reverted transactions', f.revertedTxs],
  ];
  for (const [label, value] of rows) console.log(`  ${label.padEnd(24)} ${value}`);
}
