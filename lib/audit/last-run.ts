import { getLastAuditRun } from '@/db/audit';

export type AuditSummary = {
  finishedAt: Date;
  fromBlock: string;
  toBlock: string;
  users: number;
  discrepancies: number;
  kinds: string[];
};

/** The latest stored funds audit, as the admin page shows it; undefined before the first. */
export async function getLastAuditSummary(): Promise<AuditSummary | undefined> {
  const run = await getLastAuditRun();
  if (!run) return undefined;
  const listed = ((run.report as { discrepancies?: { kind: string }[] }).discrepancies ?? []).map((d) => d.kind);
  return {
    finishedAt: new Date(run.finishedAt),
    fromBlock: run.fromBlock.toString(),
    toBlock: run.toBlock.toString(),
    users: run.users,
    discrepancies: run.discrepancies,
    kinds: [...new Set(listed)],
  };
}
