import type { AuditReport } from '@/lib/audit/types';
import type { FaultCounts } from './faults';

/** A task of the run as the database ends it. */
export type TaskOutcome = {
  id: string;
  status: string;
  quantity: number;
  errorMessage: string | null;
  fundingTxHash: string | null;
};

/** Processes that ended by themselves (not by a fault), and what the run could not even start. */
export type Incidents = {
  workerCrashes: number;
  webCrashes: number;
  /** Tasks the users could not create or fund in the end, with why. */
  trafficFailures: string[];
};

export type ChaosFigures = {
  tasks: number;
  funded: number;
  completed: number;
  /** Funded tasks that ended otherwise or not at all: id, status and error. */
  notCompleted: TaskOutcome[];
  unfunded: number;
  /** Mints the funded tasks paid for (their quantities). */
  mintsPaid: number;
  /** Mints of the run's tasks on chain (Minted events, counted by the audit). */
  mintsOnChain: number;
  kills: number;
  stalls: number;
  outages: number;
  postgresRestarts: number;
  doubleMints: number;
  lostMints: number;
  discrepancies: number;
  revertedTxs: number;
} & Incidents;

/**
 * The run's figures from the tasks' rows and the final audit. Double: mints on chain beyond a
 * task's quantity, or a mintId used twice. Lost: mints the ledger confirmed that the chain does
 * not have, and completed tasks with fewer mints on chain than they bought.
 */
export function figuresOf(
  audit: AuditReport,
  faults: FaultCounts,
  outcomes: TaskOutcome[],
  incidents: Incidents,
): ChaosFigures {
  const onChain = new Map(audit.users.flatMap((u) => u.tasks).map((t) => [t.id, t]));
  const funded = outcomes.filter((t) => t.fundingTxHash !== null);
  const audited = outcomes.map((t) => onChain.get(t.id)).filter((t) => t !== undefined);
  return {
    tasks: outcomes.length,
    funded: funded.length,
    completed: funded.filter((t) => t.status === 'completed').length,
    notCompleted: funded.filter((t) => t.status !== 'completed'),
    unfunded: outcomes.length - funded.length,
    mintsPaid: funded.reduce((a, t) => a + t.quantity, 0),
    mintsOnChain: audited.reduce((a, t) => a + t.minted, 0),
    kills: faults.kill,
    stalls: faults.stall,
    outages: faults.outage,
    postgresRestarts: faults.postgres,
    doubleMints:
      audited.reduce((a, t) => a + Math.max(0, t.minted - t.quantity), 0) +
      audit.discrepancies.filter((d) => d.kind === 'double_mint' && d.sequenceNumber !== undefined).length,
    lostMints: audited.reduce(
      (a, t) =>
        a + Math.max(0, t.confirmed - t.minted) + (t.status === 'completed' ? Math.max(0, t.quantity - t.minted) : 0),
      0,
    ),
    discrepancies: audit.discrepancies.length,
    revertedTxs: audit.users.reduce((a, u) => a + u.eth.reverted, 0),
    ...incidents,
  };
}

/**
 * Why the run fails, if it does. It passes only when every task the users created was paid and
 * completed (no fault the run injects is a reason for a task to fail: each is transient, and the
 * worker retries through it), the mints on chain are exactly the mints paid for, no process ended
 * by itself, nothing is missing or doubled in the audit, and each kind of fault happened.
 */
export function failuresOf(f: ChaosFigures): string[] {
  const out: string[] = [];
  if (f.funded === 0) out.push('no task was funded');
  if (f.unfunded) out.push(`${f.unfunded} task(s) never got funded`);
  if (f.notCompleted.length) {
    const shown = f.notCompleted
      .slice(0, 5)
      .map((t) => `${t.id} ${t.status}${t.errorMessage ? ` (${t.errorMessage})` : ''}`);
    out.push(
      `${f.notCompleted.length} funded task(s) did not complete: ${shown.join('; ')}${f.notCompleted.length > 5 ? '; …' : ''}`,
    );
  }
  if (f.mintsOnChain !== f.mintsPaid) out.push(`${f.mintsOnChain} mint(s) on chain for ${f.mintsPaid} paid for`);
  if (f.doubleMints) out.push(`${f.doubleMints} double mint(s)`);
  if (f.lostMints) out.push(`${f.lostMints} lost mint(s)`);
  if (f.discrepancies) out.push(`${f.discrepancies} audit discrepanc(ies)`);
  if (f.workerCrashes) out.push(`${f.workerCrashes} worker crash(es) not caused by a kill`);
  if (f.webCrashes) out.push(`${f.webCrashes} web process crash(es)`);
  if (f.trafficFailures.length) out.push(`users could not create or fund ${f.trafficFailures.length} task(s)`);
  if (f.kills < 1) out.push('no worker was killed');
  if (f.stalls < 1) out.push('no worker stalled past its lease');
  if (f.outages < 1) out.push('no RPC outage');
  if (f.postgresRestarts < 1) out.push('no Postgres restart');
  return out;
}

export function printFigures(f: ChaosFigures) {
  const rows: [string, number][] = [
    ['tasks', f.tasks],
    ['  funded', f.funded],
    ['  completed', f.completed],
    ['  funded, not completed', f.notCompleted.length],
    ['  never funded', f.unfunded],
    ['mints paid for', f.mintsPaid],
    ['mints on chain', f.mintsOnChain],
    ['kills (kill -9)', f.kills],
    ['stalls past the lease', f.stalls],
    ['RPC outages (10 s)', f.outages],
    ['Postgres restarts', f.postgresRestarts],
    ['worker crashes', f.workerCrashes],
    ['web process crashes', f.webCrashes],
    ['double mints', f.doubleMints],
    ['lost mints', f.lostMints],
    ['audit discrepancies', f.discrepancies],
    ['reverted transactions', f.revertedTxs],
  ];
  for (const [label, value] of rows) console.log(`  ${label.padEnd(24)} ${value}`);
}
