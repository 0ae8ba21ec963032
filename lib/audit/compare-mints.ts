import type { Hex } from 'viem';
import type { AuditMintRow, AuditTask } from '@/db/audit';
import { mintIdOf } from '../chain/mint-id';
import type { MintedLog, TokenInfo } from './chain-facts';
import type { Discrepancy, TaskAudit } from './types';

// Mints: confirmed mints in the ledger = mintIds used on chain (Minted events, payer = the
// agent) = tokens the user (or the task's recipient) received. Each task's mintIds are known
// without the ledger (keccak(taskId, sequence)), so a mint the ledger lost is still tied to its
// task, and so is a mint past the task's quantity (a worker that overshoots does so by a batch or
// so: the ids of BEYOND_QUANTITY more sequences are computed, and those of any ledger row).

const BEYOND_QUANTITY = 20;

/** An x402 task's payments (settled, still open) and the mints its deliveries ledger counts as arrived. */
export type X402Counts = { settled: number; open: number; delivered: number };

export type MintComparison = {
  discrepancies: Omit<Discrepancy, 'user' | 'agent'>[];
  tasks: TaskAudit[];
  /** USDC the chain's mints paid, those the ledger confirmed paid, and those of rows still open on processing tasks. */
  chainPaid: bigint;
  ledgerPaid: bigint;
  inFlight: bigint;
  ledgerConfirmed: number;
  onChain: number;
  tokensReceived: bigint;
  ledgerMintGas: bigint;
  /** Transactions holding a mint of this agent (their USDC out is mint payment): the mints' prices and task. */
  mintTxs: Map<string, { price: bigint; taskId?: string }>;
};

export function compareMints({
  user,
  tasks,
  rows,
  minted,
  tokens,
  x402Counts,
}: {
  user: string;
  tasks: AuditTask[];
  rows: AuditMintRow[];
  minted: MintedLog[];
  tokens: Map<string, TokenInfo>;
  /** Per x402 task: payments settled and open, and mints delivered (lib/audit/compare.ts). */
  x402Counts: Map<string, X402Counts>;
}): MintComparison {
  const out: MintComparison = {
    discrepancies: [],
    tasks: [],
    chainPaid: 0n,
    ledgerPaid: 0n,
    inFlight: 0n,
    ledgerConfirmed: 0,
    onChain: minted.length,
    tokensReceived: 0n,
    ledgerMintGas: 0n,
    mintTxs: new Map(),
  };
  const discrepancies = out.discrepancies;
  const owner = new Map<string, { task: AuditTask; seq: number }>();
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  for (const task of tasks)
    if (task.route === 'contract')
      for (let seq = 1; seq <= task.quantity + BEYOND_QUANTITY; seq++) owner.set(mintIdOf(task.id, seq), { task, seq });
  for (const r of rows) {
    const task = taskById.get(r.taskId);
    if (task) owner.set(r.mintId.toLowerCase() as Hex, { task, seq: r.sequenceNumber });
  }
  const rowOf = new Map(rows.map((r) => [r.mintId.toLowerCase(), r]));
  const eventsOf = new Map<string, MintedLog[]>();
  for (const e of minted) {
    const id = e.mintId.toLowerCase();
    eventsOf.set(id, [...(eventsOf.get(id) ?? []), e]);
    out.chainPaid += e.price;
    const tx = out.mintTxs.get(e.txHash);
    out.mintTxs.set(e.txHash, { price: (tx?.price ?? 0n) + e.price, taskId: tx?.taskId });
  }
  const mintedByTask = new Map<string, MintedLog[]>();

  for (const [id, events] of eventsOf) {
    const mine = owner.get(id as Hex);
    const event = events[0]!;
    if (!mine) {
      discrepancies.push({
        kind: 'unknown_mint',
        txHash: event.txHash,
        amount: event.price.toString(),
        message: `mint ${id} paid by the agent belongs to no task of this user`,
      });
      continue;
    }
    const { task, seq } = mine;
    for (const { txHash } of events) out.mintTxs.get(txHash)!.taskId ??= task.id;
    if (seq > task.quantity) {
      for (const extra of events)
        discrepancies.push({
          kind: 'double_mint',
          taskId: task.id,
          sequenceNumber: seq,
          txHash: extra.txHash,
          amount: extra.price.toString(),
          expected: String(task.quantity),
          actual: String(seq),
          message: `mint ${seq} of a task of ${task.quantity}: minted past the task's quantity`,
        });
      continue;
    }
    mintedByTask.set(task.id, [...(mintedByTask.get(task.id) ?? []), ...events]);
    if (events.length > 1)
      discrepancies.push({
        kind: 'double_mint',
        taskId: task.id,
        sequenceNumber: seq,
        txHash: events[1]!.txHash,
        amount: event.price.toString(),
        message: `mintId of mint ${seq} used ${events.length} times`,
      });
    const row = rowOf.get(id);
    const open = row && (row.status === 'signed' || row.status === 'sent');
    if (open && task.status === 'processing') {
      out.inFlight += event.price; // the worker settles it with its batch
      continue;
    }
    if (row?.status !== 'confirmed') {
      discrepancies.push({
        kind: 'mint_not_in_ledger',
        taskId: task.id,
        sequenceNumber: seq,
        txHash: event.txHash,
        amount: event.price.toString(),
        expected: row?.status ?? 'no row',
        actual: 'minted',
        message: `mint ${seq} is on chain but the ledger has it ${row?.status ?? 'missing'}`,
      });
      continue;
    }
    const wrong: string[] = [];
    if (row.txHash?.toLowerCase() !== event.txHash.toLowerCase())
      wrong.push(`tx ${row.txHash} in the ledger, ${event.txHash} on chain`);
    if (event.token !== task.tokenAddress.toLowerCase())
      wrong.push(`minted on ${event.token}, the task's token is ${task.tokenAddress}`);
    const to = task.recipient ?? user;
    if (event.to !== to) wrong.push(`minted to ${event.to}, not the ${task.recipient ? "task's recipient" : 'user'}`);
    if (event.price !== task.pricePerMint) wrong.push(`paid ${event.price}, the task's price is ${task.pricePerMint}`);
    const mintAmount = tokens.get(event.token)?.mintAmount;
    if (mintAmount !== undefined && event.amount !== mintAmount)
      wrong.push(`minted ${event.amount} tokens, the token mints ${mintAmount}`);
    if (wrong.length)
      discrepancies.push({
        kind: 'mint_mismatch',
        taskId: task.id,
        sequenceNumber: seq,
        txHash: event.txHash,
        message: `mint ${seq}: ${wrong.join('; ')}`,
      });
  }

  for (const task of tasks) {
    const confirmed = rows.filter((r) => r.taskId === task.id && r.status === 'confirmed');
    const events = mintedByTask.get(task.id) ?? [];
    out.ledgerConfirmed += confirmed.length;
    out.ledgerPaid += task.pricePerMint * BigInt(confirmed.length);
    for (const r of confirmed)
      if (r.gasUsed !== null && r.effectiveGasPrice !== null) out.ledgerMintGas += r.gasUsed * r.effectiveGasPrice;
    for (const r of confirmed) {
      if (eventsOf.has(r.mintId.toLowerCase())) continue;
      discrepancies.push({
        kind: 'ledger_mint_not_on_chain',
        taskId: task.id,
        sequenceNumber: r.sequenceNumber,
        txHash: r.txHash ?? undefined,
        amount: task.pricePerMint.toString(),
        expected: 'minted',
        actual: 'no Minted event',
        message: `mint ${r.sequenceNumber} is confirmed in the ledger but its mintId has no Minted event in the audited blocks`,
      });
    }
    const received = events.filter((e) => e.to === (task.recipient ?? user)).reduce((a, e) => a + e.amount, 0n);
    out.tokensReceived += received;
    const x402 = x402Counts.get(task.id) ?? { settled: 0, open: 0, delivered: 0 };
    if (task.route === 'contract' && task.mintsCompleted !== confirmed.length)
      discrepancies.push({
        kind: 'progress_mismatch',
        taskId: task.id,
        expected: String(confirmed.length),
        actual: String(task.mintsCompleted),
        message: `mints_completed is ${task.mintsCompleted}, the ledger has ${confirmed.length}`,
      });
    // An x402 mint is done when its tokens are with the user: the deliveries ledger (each entry a
    // Transfer checked on chain) says how many arrived. The counter may trail it (tokens that came
    // after the task ended: its claims say "delivered later"), never pass it; and a completed
    // task has every mint delivered.
    const deliveredCap = Math.min(x402.delivered, task.quantity);
    if (task.route === 'x402' && task.mintsCompleted > deliveredCap)
      discrepancies.push({
        kind: 'progress_mismatch',
        taskId: task.id,
        expected: String(deliveredCap),
        actual: String(task.mintsCompleted),
        message: `mints_completed is ${task.mintsCompleted}, but the deliveries ledger has ${x402.delivered} mint(s) arrived: mints counted done whose tokens did not arrive`,
      });
    else if (task.route === 'x402' && task.status === 'completed' && deliveredCap < task.quantity)
      discrepancies.push({
        kind: 'progress_mismatch',
        taskId: task.id,
        expected: String(task.quantity),
        actual: String(deliveredCap),
        message: `the task is completed, but the deliveries ledger has ${x402.delivered} of its ${task.quantity} mints arrived`,
      });
    out.tasks.push({
      id: task.id,
      route: task.route,
      status: task.status,
      quantity: task.quantity,
      confirmed: confirmed.length,
      minted: events.length,
      x402Settled: x402.settled,
      ...(task.route === 'x402' && { x402Delivered: x402.delivered }),
      ...(task.route === 'x402' && x402.delivered < x402.settled && { x402Undelivered: x402.settled - x402.delivered }),
      tokensReceived: received.toString(),
    });
  }
  return out;
}
