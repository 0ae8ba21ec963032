import { formatEther, formatUnits, getAddress } from 'viem';
import { listLedgerByTask, listTasksForOperator } from '@/db/stats';
import { TASK_STATUSES, X402_CLAIM_STATUSES, type TaskStatus, type X402ClaimStatus } from '@/db/schema';
import { getTaskById } from '@/db/tasks';
import { getWalletByUser } from '@/db/wallets';
import { listWebhookDeliveries } from '@/db/webhooks';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { formatAudit } from '../audit/format';
import { runAudit } from '../audit/run-audit';
import { AppError } from '../errors';
import { getStatsReport } from '../stats/daily-stats';
import { cancelTask } from '../tasks/cancel-task';
import { retryTask } from '../tasks/retry-task';
import { toTaskDto, type X402ClaimDto } from '../tasks/serialize';
import { listClaims, listTaskClaims } from '../tasks/x402-claims';
import { readWalletAmounts, walletViewOf } from '../wallets/wallet-view';
import { checkOperatorBalance } from './operator-balance';
import { keyValues, table } from '../text-table';
import { HEX_ADDRESS } from '../hex';

// The operator's commands, each returning what `--json` prints and what a terminal shows.
// Retry and cancel go through the same guarded lib/tasks functions as the user routes, acting
// as the task's own user, so an operator can never move a task the lifecycle forbids.

/** `exitCode` 1 marks a result that is a finding (an audit discrepancy), not a failure to run. */
export type CommandResult = { json: unknown; text: string; exitCode?: number };
export class UsageError extends Error {}

const short = (a: string | null | undefined) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : '');
const usdc = (v: string) => formatUnits(BigInt(v), 6);
const when = (d: Date | string | null | undefined) =>
  d ? new Date(d).toISOString().replace('T', ' ').slice(0, 19) : '';
const plain = (rows: object[]) =>
  JSON.parse(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

export function parseStatuses(value: string | undefined): TaskStatus[] | undefined {
  if (!value) return undefined;
  const statuses = value.split(',').map((s) => s.trim());
  const bad = statuses.filter((s) => !(TASK_STATUSES as readonly string[]).includes(s));
  if (bad.length) throw new UsageError(`unknown status ${bad.join(', ')} (one of ${TASK_STATUSES.join(', ')})`);
  return statuses as TaskStatus[];
}

export function parsePositiveInt(value: string | undefined, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > max)
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}`);
  return parsed;
}

async function loadTask(id: string) {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError(`task id must be a UUID (got ${id})`);
  const task = await getTaskById({ id });
  if (!task) throw new AppError('not_found:task', `No task ${id}.`);
  return task;
}

export async function listTasksCommand({
  status,
  limit,
}: {
  status?: TaskStatus[];
  limit: number;
}): Promise<CommandResult> {
  const tasks = (await listTasksForOperator({ status, limit })).map(toTaskDto);
  const text = table(
    ['id', 'status', 'done', 'failed', 'qty', 'token', 'user', 'created'],
    tasks.map((t) => [
      t.id,
      t.status,
      t.mintsCompleted,
      t.mintsFailed,
      t.quantity,
      short(t.tokenAddress),
      short(t.userAddress),
      when(t.createdAt),
    ]),
  );
  return { json: tasks, text: `${text}\n${tasks.length} task(s)` };
}

export async function showTaskCommand({ id }: { id: string }): Promise<CommandResult> {
  const task = toTaskDto(await loadTask(id));
  const [ledger, webhooks, payments, claims] = await Promise.all([
    listLedgerByTask({ taskId: id }),
    listWebhookDeliveries({ taskId: id, limit: 50 }),
    listX402PaymentsByTask({ taskId: id }),
    task.route === 'x402' ? listTaskClaims({ taskId: id }) : [],
  ]);
  // x402 payments: the authorization's nonce and outcome, never the signature.
  const x402 = payments.map(({ signature: _s, authorization: _a, ...p }) => p);
  const json = {
    task,
    ledger: plain(ledger),
    x402Payments: plain(x402),
    x402Claims: claims,
    webhooks: plain(webhooks.map(({ payload: _p, ...w }) => w)),
  };
  const text = [
    keyValues({ ...task, pricePerMint: `${usdc(task.pricePerMint)} USDC`, totalCost: `${usdc(task.totalCost)} USDC` }),
    '',
    `ledger (${ledger.length})`,
    table(
      ['seq', 'status', 'nonce', 'txHash', 'block', 'gasUsed', 'error'],
      ledger.map((r) => [
        r.sequenceNumber,
        r.status,
        r.nonce,
        r.txHash ?? '',
        r.blockNumber?.toString() ?? '',
        r.gasUsed ?? '',
        (r.error ?? '').slice(0, 60),
      ]),
    ),
    ...(x402.length
      ? [
          '',
          `x402 payments (${x402.length})`,
          table(
            ['mints', 'status', 'amount', 'http', 'nonce', 'settlementTx', 'error'],
            x402.map((p) => [
              // A payment that buys several mints (a seller that prices a quantity) shows their range.
              p.units > 1 ? `${p.sequenceNumber}–${p.sequenceNumber + p.units - 1}` : p.sequenceNumber,
              p.status,
              `${usdc(p.amount)} USDC`,
              p.httpStatus ?? '',
              `${p.nonce.slice(0, 10)}…`,
              p.settlementTxHash ?? '',
              (p.error ?? '').slice(0, 60),
            ]),
          ),
        ]
      : []),
    ...(claims.length ? ['', `x402 claims (${claims.length}): paid, not delivered`, claimsTable(claims, false)] : []),
    '',
    `webhooks (${webhooks.length})`,
    table(
      ['id', 'event', 'status', 'attempts', 'lastError'],
      webhooks.map((w) => [w.id.toString(), w.event, w.status, w.attempts, w.lastError ?? '']),
    ),
  ].join('\n');
  return { json, text };
}

/** Token base units as tokens where the chain told the decimals. */
const tokens = (c: X402ClaimDto, amount: string) =>
  c.tokenDecimals === null
    ? `${amount} units`
    : `${formatUnits(BigInt(amount), c.tokenDecimals)} ${c.tokenSymbol ?? ''}`.trim();

/** One line per claim; the seller's answer on a line of its own (a stranger's text, one line, bounded). */
function claimsTable(claims: X402ClaimDto[], withTask: boolean): string {
  const rows = table(
    [
      ...(withTask ? ['created', 'task', 'user', 'seller'] : []),
      'seq',
      'status',
      'paid',
      'payee',
      'settlementTx',
      'http',
      'arrived',
      'expected',
    ],
    claims.map((c) => [
      ...(withTask ? [when(c.createdAt), c.taskId, short(c.userAddress), c.host] : []),
      c.sequenceNumber,
      c.status,
      `${usdc(c.amount)} USDC`,
      c.payTo,
      c.settlementTxHash ?? '',
      c.httpStatus ?? '',
      tokens(c, c.arrivedAmount),
      c.expectedAmount === null ? 'unknown' : tokens(c, c.expectedAmount),
    ]),
  );
  const answers = claims.map(
    (c) => `  #${c.sequenceNumber}${withTask ? ` ${c.taskId.slice(0, 8)}` : ''} answered: ${oneLine(c.sellerAnswer)}`,
  );
  return [rows, ...answers].join('\n');
}

/** A seller's answer on one terminal line: control characters and newlines out, at most 160 characters. */
const oneLine = (text: string | null) => {
  if (!text) return '(nothing)';
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  return JSON.stringify(flat.length > 160 ? `${flat.slice(0, 160)}…` : flat);
};

export function parseClaimStatus(value: string | undefined): X402ClaimStatus | undefined {
  if (value === undefined) return undefined;
  if (!(X402_CLAIM_STATUSES as readonly string[]).includes(value))
    throw new UsageError(`unknown claim status ${value} (one of ${X402_CLAIM_STATUSES.join(', ')})`);
  return value as X402ClaimStatus;
}

/** `--seller`: a payee address, or the host an endpoint is served from (`mint.example.com`, `127.0.0.1:4021`). */
export function parseSeller(value: string | undefined): { payTo?: string; host?: string } {
  if (value === undefined) return {};
  if (HEX_ADDRESS.test(value)) return { payTo: value };
  if (/^[a-z0-9.-]+(:\d{1,5})?$/i.test(value) || /^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(value))
    return { host: value.toLowerCase() };
  throw new UsageError(`--seller must be a payee address (0x…) or a host such as mint.example.com (got ${value})`);
}

/**
 * x402 claims, newest first: payments a seller settled without delivering what it sold, with
 * the evidence (payee, settlement transaction, what arrived, the seller's answer). Filtered by
 * user, task, seller (payee or host) and status, in any combination.
 */
export async function claimsCommand({
  userAddress,
  taskId,
  seller,
  status,
  limit,
}: {
  userAddress?: string;
  taskId?: string;
  seller?: string;
  status?: X402ClaimStatus;
  limit: number;
}): Promise<CommandResult> {
  if (userAddress !== undefined && !HEX_ADDRESS.test(userAddress))
    throw new UsageError(`--user must be an address (got ${userAddress})`);
  if (taskId !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(taskId))
    throw new UsageError(`--task must be a task id (a UUID; got ${taskId})`);
  const claims = await listClaims({ userAddress, taskId, ...parseSeller(seller), status, limit });
  const open = claims.filter((c) => c.status === 'open');
  const taken = open.reduce((a, c) => a + BigInt(c.amount), 0n);
  const sellers = new Set(open.map((c) => c.payTo));
  const summary = `${claims.length} claim(s); ${open.length} open: ${formatUnits(taken, 6)} USDC taken without delivery by ${sellers.size} payee(s)`;
  return { json: claims, text: claims.length ? `${claimsTable(claims, true)}\n${summary}` : summary };
}

export async function retryTaskCommand({ id }: { id: string }): Promise<CommandResult> {
  const task = await loadTask(id);
  const dto = toTaskDto(await retryTask({ taskId: id, userAddress: task.userAddress }));
  return { json: dto, text: `task ${id} is ${dto.status} again (queued for a worker)` };
}

export async function cancelTaskCommand({ id }: { id: string }): Promise<CommandResult> {
  const task = await loadTask(id);
  const dto = toTaskDto(await cancelTask({ taskId: id, userAddress: task.userAddress }));
  const text =
    dto.status === 'cancelled'
      ? `task ${id} cancelled`
      : `task ${id} will stop after the batch in flight (cancel requested)`;
  return { json: dto, text };
}

export async function walletCommand({ userAddress }: { userAddress: string }): Promise<CommandResult> {
  if (!HEX_ADDRESS.test(userAddress)) throw new UsageError(`not an address: ${userAddress}`);
  const wallet = await getWalletByUser({ userAddress });
  if (!wallet) throw new AppError('not_found:wallet', `No agent wallet for ${userAddress}.`);
  const agentAddress = getAddress(wallet.agentAddress);
  const amounts = await readWalletAmounts(wallet.id, agentAddress);
  const json = walletViewOf(userAddress, agentAddress, amounts);
  const text = keyValues({
    ...json,
    usdcBalance: `${formatUnits(amounts.usdcBalance, 6)} USDC`,
    ethBalance: `${formatEther(amounts.ethBalance)} ETH`,
    reservedUsdc: `${formatUnits(amounts.reserved, 6)} USDC`,
    refundableUsdc: `${formatUnits(amounts.refundable, 6)} USDC`,
  });
  return { json, text };
}

export async function statsCommand({ days }: { days: number }): Promise<CommandResult> {
  const report = await getStatsReport({ days });
  const text = [
    table(
      ['day', 'completed', 'failed', 'mints', 'avg task s', 'gas ETH'],
      report.series.map((d) => [
        d.day,
        d.tasksCompleted,
        d.tasksFailed,
        d.mints,
        d.avgTaskSeconds ?? '',
        formatEther(BigInt(d.gasSpentWei)),
      ]),
    ),
    '',
    keyValues({ ...report.totals, gasSpentWei: `${formatEther(BigInt(report.totals.gasSpentWei))} ETH` }),
    '',
    `queue: ${Object.entries(report.queue)
      .map(([s, n]) => `${s}=${n}`)
      .join('  ')}`,
  ].join('\n');
  return { json: report, text };
}

export async function webhooksCommand({ limit }: { limit: number }): Promise<CommandResult> {
  const rows = plain((await listWebhookDeliveries({ limit })).map(({ payload: _p, ...w }) => w)) as Record<
    string,
    unknown
  >[];
  const text = table(
    ['id', 'event', 'task', 'status', 'attempts', 'next', 'lastError'],
    rows.map((w) => [
      String(w.id),
      String(w.event),
      String(w.taskId ?? ''),
      String(w.status),
      String(w.attempts),
      when(w.nextAttemptAt as string),
      String(w.lastError ?? '').slice(0, 50),
    ]),
  );
  return { json: rows, text };
}

export async function operatorCommand(): Promise<CommandResult> {
  const balance = await checkOperatorBalance();
  const json = {
    operator: getAddress(balance.address),
    balanceWei: balance.balanceWei.toString(),
    thresholdWei: balance.thresholdWei.toString(),
    low: balance.low,
  };
  return {
    json,
    text: keyValues({
      ...json,
      balanceWei: `${formatEther(balance.balanceWei)} ETH`,
      thresholdWei: `${formatEther(balance.thresholdWei)} ETH`,
    }),
  };
}

/** The funds audit (lib/audit/): exits 1 when anything is unaccounted for. */
export async function auditCommand({
  userAddress,
  fromBlock,
  blockRange,
  rpcUrl,
}: {
  userAddress?: string;
  fromBlock?: string;
  blockRange?: string;
  /** Another node to read the chain through (an archive node); RPC_URL by default. */
  rpcUrl?: string;
}): Promise<CommandResult> {
  if (userAddress !== undefined && !HEX_ADDRESS.test(userAddress))
    throw new UsageError(`not an address: ${userAddress}`);
  const block = (value: string | undefined, name: string) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a block number`);
    return BigInt(value);
  };
  const range = block(blockRange, 'block-range');
  if (range === 0n) throw new UsageError('--block-range must be at least 1');
  if (rpcUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(rpcUrl))
    throw new UsageError('--rpc-url must be an http(s) URL');
  const report = await runAudit({ userAddress, fromBlock: block(fromBlock, 'from-block'), blockRange: range, rpcUrl });
  return { json: report, text: formatAudit(report), exitCode: report.ok ? 0 : 1 };
}
