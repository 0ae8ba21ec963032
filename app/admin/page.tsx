import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import Link from 'next/link';
import { formatEther } from 'viem';
import { TASK_STATUSES } from '@/db/schema';
import { getLastAuditSummary } from '@/lib/audit/last-run';
import { sessionCookieName } from '@/lib/auth/cookie';
import { sessionFromCookie } from '@/lib/auth/session';
import { isAdminAddress } from '@/lib/ops/admin';
import { getStatsReport, MAX_STATS_DAYS } from '@/lib/stats/daily-stats';
import { SeriesChart } from './series-chart';

export const metadata: Metadata = { title: 'AgentMint · Operations' };
export const dynamic = 'force-dynamic';

const RANGES = [7, 30, 90];
const eth = (wei: string | bigint) => Number(formatEther(BigInt(wei)));
const ethLabel = (v: number) => (v === 0 ? '0' : v < 0.001 ? v.toExponential(1) : v.toFixed(4));

/** Operators only (ADMIN_ADDRESSES); everyone else sees a short refusal and nothing else. */
export default async function AdminPage({ searchParams }: { searchParams: Promise<{ days?: string }> }) {
  const session = await sessionFromCookie((await cookies()).get(sessionCookieName())?.value);
  if (!session || !isAdminAddress(session.address)) {
    return (
      <section className="card" data-testid="admin-denied">
        <h1>Not authorised</h1>
        <p className="muted">
          {session
            ? 'This page is for AgentMint operators. Your account is not one of them.'
            : 'Sign in with an operator wallet to see this page.'}
        </p>
      </section>
    );
  }
  const requested = Number((await searchParams).days);
  const days = Number.isInteger(requested) && requested >= 1 && requested <= MAX_STATS_DAYS ? requested : 30;
  const [report, audit] = await Promise.all([getStatsReport({ days }), getLastAuditSummary()]);
  const series = report.series;
  const { totals } = report;

  return (
    <div style={{ display: 'grid', gap: '1rem' }} data-testid="admin-page">
      <header style={{ display: 'flex', alignItems: 'baseline', gap: '1rem', flexWrap: 'wrap' }}>
        <h1>Operations</h1>
        <span className="muted">
          {report.from} – {report.to} (UTC)
        </span>
        <nav style={{ marginLeft: 'auto', display: 'flex', gap: '0.4rem' }}>
          {RANGES.map((d) => (
            <Link key={d} href={`/admin?days=${d}`} className="chip" aria-current={d === days ? 'page' : undefined}>
              {d} days
            </Link>
          ))}
        </nav>
      </header>

      <section style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(160px, 1fr))', gap: '0.75rem' }}>
        {[
          ['Tasks completed', totals.tasksCompleted],
          ['Tasks failed', totals.tasksFailed],
          ['Mints', totals.mints],
          ['Avg task time', totals.avgTaskSeconds === null ? '—' : `${totals.avgTaskSeconds} s`],
          ['Gas spent', `${ethLabel(eth(totals.gasSpentWei))} ETH`],
        ].map(([label, value]) => (
          <div key={label} className="card">
            <div className="muted small">{label}</div>
            <div style={{ fontSize: '1.4rem', fontWeight: 700 }}>{value}</div>
          </div>
        ))}
      </section>

      <section style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(420px, 1fr))', gap: '0.75rem' }}>
        <SeriesChart
          title="Tasks completed per day"
          points={series.map((d) => ({ label: d.day, value: d.tasksCompleted }))}
          color="var(--ok)"
        />
        <SeriesChart
          title="Tasks failed per day"
          points={series.map((d) => ({ label: d.day, value: d.tasksFailed }))}
          color="var(--danger)"
        />
        <SeriesChart title="Mints per day" points={series.map((d) => ({ label: d.day, value: d.mints }))} />
        <SeriesChart
          title="Average task time (s)"
          kind="line"
          color="var(--warn)"
          points={series.map((d) => ({
            label: d.day,
            value: d.avgTaskSeconds ?? 0,
            display: d.avgTaskSeconds === null ? 'no tasks' : `${d.avgTaskSeconds} s`,
          }))}
        />
        <SeriesChart
          title="Gas spent per day (ETH)"
          kind="line"
          color="var(--accent-2)"
          format={ethLabel}
          points={series.map((d) => ({
            label: d.day,
            value: eth(d.gasSpentWei),
            display: `${formatEther(BigInt(d.gasSpentWei))} ETH`,
          }))}
        />
      </section>

      <section className="card" data-testid="last-audit">
        <h2>Funds audit</h2>
        {audit ? (
          <p>
            <span className={`badge ${audit.discrepancies === 0 ? 'badge-completed' : 'badge-failed'}`}>
              {audit.discrepancies === 0
                ? 'OK'
                : `${audit.discrepancies} discrepanc${audit.discrepancies === 1 ? 'y' : 'ies'}`}
            </span>{' '}
            last run {audit.finishedAt.toISOString().replace('T', ' ').slice(0, 19)} UTC · {audit.users} user(s) ·
            blocks {audit.fromBlock}–{audit.toBlock}
            {audit.kinds.length > 0 && <span className="muted"> · {audit.kinds.join(', ')}</span>}
          </p>
        ) : (
          <p className="muted">No audit has run yet: npm run ops -- audit</p>
        )}
      </section>

      <section className="card">
        <h2>Queue by status</h2>
        <table data-testid="queue-table" style={{ borderCollapse: 'collapse', minWidth: '280px' }}>
          <tbody>
            {TASK_STATUSES.map((status) => (
              <tr key={status}>
                <td style={{ padding: '0.3rem 1rem 0.3rem 0' }}>
                  <span className={`badge badge-${status}`}>{status}</span>
                </td>
                <td style={{ textAlign: 'right', fontVariantNumeric: 'tabular-nums' }}>{report.queue[status]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
