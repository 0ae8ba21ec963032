import { formatEther, formatUnits } from 'viem';
import { table } from '../text-table';
import type { AuditReport } from './types';

const usdc = (v: string) => formatUnits(BigInt(v), 6);
const eth = (v: string) => formatEther(BigInt(v));
const short = (a: string | undefined) => (a ? `${a.slice(0, 8)}…${a.slice(-4)}` : '');

/** The audit as an operator reads it on a terminal: the range, one line per user, then every discrepancy. */
export function formatAudit(report: AuditReport): string {
  const lines = [
    `funds audit of blocks ${report.fromBlock}–${report.toBlock} (from ${report.fromBlockSource}; ${report.blockRange} blocks per log request)`,
    '',
    table(
      [
        'user',
        'funded',
        'mints',
        'x402',
        'withdrawn',
        'balance',
        'reserved',
        'minted (ledger/chain)',
        'tokens',
        'top-ups ETH',
        'gas ETH',
        'swept ETH',
        'parked ETH',
      ],
      report.users.map((u) => [
        short(u.user),
        usdc(u.usdc.funded),
        usdc(u.usdc.mintsPaid),
        usdc(u.usdc.x402Paid),
        usdc(u.usdc.withdrawn),
        usdc(u.usdc.balance),
        usdc(u.usdc.reserved),
        `${u.mints.ledgerConfirmed}/${u.mints.onChain}`,
        formatUnits(BigInt(u.mints.tokensReceived), 18),
        eth(u.eth.topUps),
        eth(u.eth.gasSpent),
        eth(u.eth.swept),
        eth(u.eth.balance),
      ]),
    ),
    '',
    `operator ETH in agent wallets: ${eth(report.eth.parked)} parked in ${report.eth.walletsHolding} of ${report.users.length} wallet(s); in the range ${eth(report.eth.topUps)} topped up, ${eth(report.eth.gasSpent)} burnt as gas, ${eth(report.eth.swept)} swept back`,
    '',
  ];
  lines.push(...claimsSection(report));
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (report.discrepancies.length === 0) {
    lines.push(`OK: ${report.users.length} user(s), every unit of USDC and every mint accounted for`);
    return lines.join('\n');
  }
  const byKind = new Map<string, number>();
  for (const d of report.discrepancies) byKind.set(d.kind, (byKind.get(d.kind) ?? 0) + 1);
  lines.push(
    `${report.discrepancies.length} discrepanc${report.discrepancies.length === 1 ? 'y' : 'ies'} (${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}):`,
  );
  for (const d of report.discrepancies) {
    const where = [
      d.taskId && `task ${d.taskId}${d.sequenceNumber ? ` #${d.sequenceNumber}` : ''}`,
      d.txHash && `tx ${d.txHash}`,
      d.amount && `amount ${d.amount}`,
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${d.kind}  user ${d.user}${where ? `  (${where})` : ''}\n    ${d.message}`);
  }
  return lines.join('\n');
}

/** Every claim (a seller took a payment without delivering) with whether the chain shows its settlement. */
function claimsSection(report: AuditReport): string[] {
  const claims = report.claims;
  if (claims.length === 0) return ['claims: none (no seller took a payment without delivering)', ''];
  const open = claims.filter((c) => c.status === 'open');
  const taken = open.reduce((a, c) => a + BigInt(c.amount), 0n).toString();
  const unverified = claims.filter((c) => !c.verified).length;
  return [
    `claims: ${claims.length} (${open.length} open, ${usdc(taken)} USDC taken without delivery; ${claims.length - unverified} settlement(s) verified on chain${unverified ? `, ${unverified} NOT` : ''})`,
    table(
      ['user', 'task', 'seq', 'status', 'USDC', 'payee', 'settlement tx', 'block', 'on chain'],
      claims.map((c) => [
        short(c.user),
        c.taskId,
        c.sequenceNumber,
        c.status,
        usdc(c.amount),
        c.payTo,
        c.settlementTxHash ?? '',
        c.settlementBlock ?? '',
        c.verified ? 'verified' : `NO: ${c.problem}`,
      ]),
    ),
    '',
  ];
}
