import { formatEther, formatUnits } from 'viem';
import { getConfig } from '@/lib/config';
import { serviceLogger, type Logger } from '@/lib/log';
import { workerMetrics } from '@/lib/metrics/worker-hooks';

// What an operator sees. In a terminal (or LOG_FORMAT=pretty): the seed's task box, a line per
// batch and mint, and a progress bar. Otherwise one JSON line per event with taskId, agent and
// txHash fields, for log shippers. Every event passes through here, so this is also the one
// seam for metrics and alerts: `batchRecorded` once per settled batch, `taskFinished` once per task.

export type TaskRef = {
  id: string;
  agentAddress: string;
  tokenAddress: string;
  quantity: number;
  mintsCompleted: number;
};
export type Outcome = 'completed' | 'failed' | 'cancelled' | 'released';

const short = (hex: string, head = 6, tail = 4) =>
  hex.length > head + tail + 2 ? `${hex.slice(0, head)}...${hex.slice(-tail)}` : hex;

export function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} (${total === 0 ? 100 : Math.floor((done * 100) / total)}%)`;
}

export class Reporter {
  readonly pretty: boolean;
  private readonly log: Logger;

  constructor(options: { pretty?: boolean; log?: Logger } = {}) {
    const format = getConfig().logFormat;
    this.pretty = options.pretty ?? (format === 'pretty' || (format === 'auto' && Boolean(process.stdout.isTTY)));
    this.log = options.log ?? serviceLogger('worker');
  }

  private out(task: TaskRef | undefined, text: string) {
    const tag = task ? `[${task.id.slice(0, 8)}] ` : '';
    process.stdout.write(`   ${tag}${text}\n`);
  }

  private event(
    level: 'info' | 'warn' | 'error',
    task: TaskRef | undefined,
    event: string,
    fields: Record<string, unknown> = {},
    msg?: string,
  ) {
    if (this.pretty) return;
    const base = task ? { taskId: task.id, agent: task.agentAddress } : {};
    this.log[level]({ event, ...base, ...fields }, msg ?? event);
  }

  workerStarted(workerId: string, concurrency: number) {
    if (this.pretty) process.stdout.write(`🤖 Mint worker ${workerId} started (up to ${concurrency} tasks at once)\n`);
    this.event('info', undefined, 'worker_started', { workerId, concurrency });
  }

  workerStopping(inFlight: number) {
    if (this.pretty)
      process.stdout.write(`🛑 Stopping: finishing ${inFlight} batch(es) in flight, then releasing leases\n`);
    this.event('info', undefined, 'worker_stopping', { inFlight });
  }

  taskStarted(task: TaskRef) {
    workerMetrics.taskStarted(task.id);
    if (this.pretty) {
      const title = `  Processing Task: ${task.id}`;
      process.stdout.write(
        `\n╔${'═'.repeat(60)}╗\n║${title.padEnd(60)}║\n╚${'═'.repeat(60)}╝\n` +
          `   Token: ${short(task.tokenAddress)}\n   Quantity: ${task.quantity} (${task.mintsCompleted} completed)\n   Agent Wallet: ${short(task.agentAddress)}\n\n`,
      );
    }
    this.event('info', task, 'task_started', {
      quantity: task.quantity,
      mintsCompleted: task.mintsCompleted,
      token: task.tokenAddress,
    });
  }

  reconciled(task: TaskRef, summary: { checked: number; confirmed: number; failed: number }) {
    if (this.pretty)
      this.out(
        task,
        `🔎 Reconciled ${summary.checked} open ledger row(s) with the chain: ${summary.confirmed} confirmed, ${summary.failed} to re-sign`,
      );
    this.event('info', task, 'reconciled', summary);
  }

  gasToppedUp(task: TaskRef, amountWei: bigint, txHash: string) {
    if (this.pretty) this.out(task, `⛽ Topped up ${formatEther(amountWei)} ETH for gas (tx: ${short(txHash)})`);
    this.event('info', task, 'gas_topped_up', { amountWei: amountWei.toString(), txHash });
  }

  approving(task: TaskRef, amount: bigint) {
    if (this.pretty) this.out(task, `📝 Approving ${formatUnits(amount, 6)} USDC...`);
    this.event('info', task, 'approving', { amount: amount.toString() });
  }

  approved(task: TaskRef, txHash: string) {
    if (this.pretty) this.out(task, `✅ Approved (tx: ${short(txHash)})`);
    this.event('info', task, 'approved', { txHash });
  }

  batchStarted(task: TaskRef, batch: { size: number; sequences: number[]; nonce: number }) {
    workerMetrics.batchSent(task.id, batch.size);
    if (this.pretty)
      this.out(
        task,
        `🎯 Minting batch of ${batch.size} (mints ${batch.sequences[0]}–${batch.sequences.at(-1)}, nonces ${batch.nonce}–${batch.nonce + batch.size - 1})...`,
      );
    this.event('info', task, 'batch_started', {
      size: batch.size,
      firstSequence: batch.sequences[0],
      nonce: batch.nonce,
    });
  }

  minted(
    task: TaskRef,
    mint: { sequenceNumber: number; txHash: string; gasUsed?: bigint | null; effectiveGasPrice?: bigint | null },
  ) {
    workerMetrics.mintConfirmed(task.id, mint);
    if (this.pretty) this.out(task, `✅ Minted ${mint.sequenceNumber}/${task.quantity} (tx: ${short(mint.txHash)})`);
    this.event('info', task, 'mint_confirmed', mint);
  }

  mintFailed(task: TaskRef, mint: { sequenceNumber: number; error: string; txHash?: string }) {
    workerMetrics.mintFailed(task.id);
    if (this.pretty) this.out(task, `❌ Mint ${mint.sequenceNumber} failed: ${mint.error}`);
    this.event('warn', task, 'mint_failed', mint);
  }

  replaced(task: TaskRef, mint: { sequenceNumber: number; txHash: string; maxFeePerGas: bigint }) {
    if (this.pretty)
      this.out(task, `🔁 Replaced stuck mint ${mint.sequenceNumber} with higher fees (tx: ${short(mint.txHash)})`);
    this.event('warn', task, 'tx_replaced', { ...mint, maxFeePerGas: mint.maxFeePerGas.toString() });
  }

  /** x402 tasks whose endpoint mints to the payer: what the agent passed on to the task's recipient, else the user. */
  tokensForwarded(task: TaskRef, forward: { amount: bigint; txHash: string; to: string }) {
    if (this.pretty)
      this.out(
        task,
        `📦 Forwarded ${formatEther(forward.amount)} tokens to ${short(forward.to)} (tx: ${short(forward.txHash)})`,
      );
    this.event('info', task, 'tokens_forwarded', {
      amount: forward.amount.toString(),
      txHash: forward.txHash,
      to: forward.to,
    });
  }

  /** One settled batch: the place for per-batch metrics. */
  nonceHolesFilled(task: TaskRef, fill: { nonces: number[]; txHashes: string[] }) {
    if (this.pretty) this.out(task, `🕳  Filled nonce hole(s) ${fill.nonces.join(', ')} with empty self-transfers`);
    this.event('warn', task, 'nonce_holes_filled', fill);
  }

  batchRecorded(task: TaskRef, batch: { confirmed: number; failed: number; durationMs: number }) {
    workerMetrics.batchRecorded(task.id, batch.durationMs);
    if (this.pretty) this.out(task, progressBar(task.mintsCompleted, task.quantity));
    this.event('info', task, 'batch_recorded', {
      ...batch,
      mintsCompleted: task.mintsCompleted,
      quantity: task.quantity,
    });
  }

  waiting(task: TaskRef, ms: number) {
    if (this.pretty && ms > 0) this.out(task, `⏳ Waiting ${ms / 1000}s before next batch...`);
  }

  retrying(task: TaskRef, error: { kind: string; reason: string; message: string }, delayMs: number, attempt: number) {
    if (this.pretty)
      this.out(task, `⚠️  ${error.kind} error (${error.reason}): ${error.message} — retry ${attempt} in ${delayMs} ms`);
    this.event('warn', task, 'retrying', { ...error, delayMs, attempt });
  }

  /** One finished (or released) task: the place for task metrics, webhooks and alerts. */
  taskFinished(task: TaskRef, outcome: Outcome, message?: string) {
    workerMetrics.taskFinished(task.id, outcome);
    if (this.pretty) {
      const lines: Record<Outcome, string> = {
        completed: `🎉 All ${task.quantity} mints completed!\n   ✅ Task completed successfully`,
        failed: `❌ Task failed after ${task.mintsCompleted}/${task.quantity} mints: ${message}`,
        cancelled: `🚫 Task cancelled after ${task.mintsCompleted}/${task.quantity} mints; unspent USDC stays in the agent wallet`,
        released: `↩️  Released task at ${task.mintsCompleted}/${task.quantity} mints`,
      };
      this.out(task, lines[outcome]);
    }
    this.event(outcome === 'failed' ? 'error' : 'info', task, `task_${outcome}`, {
      mintsCompleted: task.mintsCompleted,
      quantity: task.quantity,
      message,
    });
  }

  error(task: TaskRef | undefined, error: unknown, what: string) {
    if (this.pretty) return this.out(task, `💥 ${what}: ${error instanceof Error ? error.message : String(error)}`);
    this.log.error(
      { event: 'error', err: error, ...(task ? { taskId: task.id, agent: task.agentAddress } : {}) },
      what,
    );
  }
}
