import type { Address } from 'viem';
import type { AuditTask, AuditWallet, AuditX402Delivery, AuditX402Row, LedgerFacts } from '@/db/audit';
import type { ChainFacts, TransferLog } from './chain-facts';
import { compareEth } from './compare-eth';
import { compareMints, type X402Counts } from './compare-mints';
import { compareX402 } from './compare-x402';
import type { ClaimAudit, Discrepancy, UserAudit } from './types';
import { checkClaims, checkDeliveries } from './x402-evidence';

// The comparison itself, pure: ledger facts and chain facts in, per-user figures and every
// discrepancy out. For each user (agent wallet A):
//   funded = Σ confirmed contract mints × price + Σ settled x402 + Σ withdrawn + A's USDC
//   (funded = A's USDC at the start of the range + every USDC transfer into A)
//   A's USDC = reserved for open tasks + refundable (so never less than reserved)
//   confirmed mints in the ledger = mintIds used on chain = tokens the user received
//   x402: mints counted done ≤ mints the deliveries ledger counts, each delivery a Transfer on
//   chain; each claim's settlement a transaction that moved its USDC from the agent to the seller
//   ETH: operator top-ups + other ETH in − gas − ETH out − swept back = A's ETH balance change
// A difference is itemised where its cause can be named (a transfer to a stranger, a mint the
// ledger lost, an x402 authorization settled after the ledger let it go); whatever remains of the
// funds equation is reported as funds_unbalanced. Every transfer out of A is itemised, so what
// remains is USDC the Transfer logs read do not explain: a node that returned too few logs (the
// whole audit then rests on a partial history), or an asset that moves balances without events.

export type CompareContext = { usdc: Address; operator: Address; batchExecutor?: Address };

export function compareUser(
  wallet: AuditWallet,
  ledger: LedgerFacts,
  chain: ChainFacts,
  ctx: CompareContext,
): { audit: UserAudit; claims: ClaimAudit[]; discrepancies: Discrepancy[] } {
  const user = wallet.userAddress.toLowerCase() as Address;
  const agent = wallet.agentAddress.toLowerCase() as Address;
  const tasks = ledger.tasks.filter((t) => t.agentWalletId === wallet.id);
  const taskIds = new Set(tasks.map((t) => t.id));
  const rows = ledger.mints.filter((m) => taskIds.has(m.taskId));
  const payments = ledger.x402.filter((p) => taskIds.has(p.taskId));
  const balances = chain.balances.get(agent) ?? { usdcStart: 0n, usdcEnd: 0n, ethStart: 0n, ethEnd: 0n };
  const tokens = new Set(tasks.filter((t) => t.route === 'contract').map((t) => t.tokenAddress.toLowerCase()));
  const x402Counts = x402CountsOf(tasks, payments, ledger.deliveries);
  const d: Omit<Discrepancy, 'user' | 'agent'>[] = [];

  const mints = compareMints({
    user,
    tasks,
    rows,
    minted: chain.minted.filter((m) => m.payer === agent),
    tokens: chain.tokens,
    x402Counts,
  });
  d.push(...mints.discrepancies);

  // USDC in and out of the agent, each outflow explained or reported. A transfer to itself moves nothing.
  const payTos = new Set([
    ...tasks.map((t) => t.payTo).filter((p): p is string => !!p),
    ...payments.map((p) => p.payTo.toLowerCase()),
  ]);
  let funded = balances.usdcStart;
  let toTokens = 0n;
  let withdrawn = 0n;
  let unexplained = 0n;
  const payeeTransfers: TransferLog[] = [];
  const tokenPaidByTx = new Map<string, bigint>();
  for (const t of chain.usdcTransfers) {
    if (t.from === agent && t.to === agent) continue;
    if (t.to === agent) funded += t.value;
    if (t.from !== agent) continue;
    if (mints.mintTxs.has(t.txHash)) {
      toTokens += t.value;
      tokenPaidByTx.set(t.txHash, (tokenPaidByTx.get(t.txHash) ?? 0n) + t.value);
    } else if (t.to === user) withdrawn += t.value;
    else if (payTos.has(t.to)) payeeTransfers.push(t);
    else {
      unexplained += t.value;
      d.push({
        kind: 'usdc_unexplained_outflow',
        txHash: t.txHash,
        amount: t.value.toString(),
        message: `${t.value} USDC left the agent for ${t.to}, who is neither a token it mints, its user nor an x402 payee`,
      });
    }
  }
  for (const [txHash, { price, taskId }] of mints.mintTxs) {
    const paid = tokenPaidByTx.get(txHash) ?? 0n;
    if (paid !== price)
      d.push({
        kind: 'mint_payment_mismatch',
        taskId,
        txHash,
        expected: price.toString(),
        actual: paid.toString(),
        amount: (paid - price).toString(),
        message: `the mints of ${txHash} are priced ${price} but the agent paid ${paid}`,
      });
  }
  const x402 = compareX402({
    tasks,
    payments,
    used: chain.authorizationsUsed.filter((u) => u.authorizer === agent),
    payeeTransfers,
  });
  d.push(...x402.discrepancies);
  d.push(
    ...checkDeliveries({
      tasks,
      deliveries: ledger.deliveries.filter((x) => taskIds.has(x.taskId)),
      receipts: chain.receipts,
      user,
      agent,
    }),
  );
  const claims = checkClaims({
    claims: ledger.claims.filter((c) => taskIds.has(c.taskId)),
    receipts: chain.receipts,
    used: chain.authorizationsUsed.filter((u) => u.authorizer === agent),
    usdc: ctx.usdc.toLowerCase() as Address,
    user,
    agent,
  });
  d.push(...claims.discrepancies);

  // Each funding transaction moved the task's total cost into the agent.
  for (const task of tasks) {
    if (!task.fundingTxHash) continue;
    const hash = task.fundingTxHash.toLowerCase();
    const moved = chain.usdcTransfers
      .filter((t) => t.txHash.toLowerCase() === hash && t.to === agent)
      .reduce((a, t) => a + t.value, 0n);
    if (moved !== task.totalCost)
      d.push({
        kind: 'funding_not_on_chain',
        taskId: task.id,
        txHash: task.fundingTxHash,
        expected: task.totalCost.toString(),
        actual: moved.toString(),
        message: `funding ${task.fundingTxHash} moved ${moved} into the agent, the task costs ${task.totalCost}`,
      });
  }

  // The funds equation, with the ledger's mints and x402 payments; itemised causes explain part of a difference.
  const accounted = mints.ledgerPaid + x402.ledgerPaid + withdrawn + balances.usdcEnd;
  const explained = unexplained + (toTokens - mints.ledgerPaid) + (x402.chainPaid - x402.ledgerPaid);
  const residual = funded - accounted - explained;
  if (residual !== 0n) {
    d.push({
      kind: 'funds_unbalanced',
      expected: funded.toString(),
      actual: (accounted + explained).toString(),
      amount: residual.toString(),
      message: `funded ${funded} ≠ mints ${mints.ledgerPaid} + x402 ${x402.ledgerPaid} + withdrawn ${withdrawn} + balance ${balances.usdcEnd} (+ itemised ${explained}); ${residual} unaccounted`,
    });
  }

  const open = tasks.filter((t) => t.status === 'funded' || t.status === 'processing');
  const reserved = open.reduce((a, t) => a + t.pricePerMint * BigInt(t.quantity - t.mintsCompleted), 0n);
  // Mints and payments in flight have paid already but are not yet counted in mints_completed.
  const needed = reserved - mints.inFlight - x402.inFlightOpenTasks;
  if (balances.usdcEnd < needed) {
    d.push({
      kind: 'reserve_shortfall',
      taskId: open[0]?.id,
      expected: needed.toString(),
      actual: balances.usdcEnd.toString(),
      amount: (needed - balances.usdcEnd).toString(),
      message: `open tasks (${open.map((t) => t.id).join(', ')}) need ${needed}, the agent holds ${balances.usdcEnd}`,
    });
  }

  const reported = new Set(d.map((x) => x.txHash).filter((h): h is string => !!h));
  const forwardTokens = new Map<string, Set<string>>();
  for (const t of tasks.filter((x) => x.route === 'x402')) {
    const token = t.tokenAddress.toLowerCase();
    forwardTokens.set(token, (forwardTokens.get(token) ?? new Set()).add((t.recipient ?? user).toLowerCase()));
  }
  const eth = compareEth({
    agent,
    user,
    usdc: ctx.usdc.toLowerCase() as Address,
    operator: ctx.operator.toLowerCase() as Address,
    tokens,
    forwardTokens,
    batchExecutor: ctx.batchExecutor,
    txs: chain.txs,
    balances,
    alreadyReported: reported,
  });
  d.push(...eth.discrepancies);

  const decimal = (v: bigint) => v.toString();
  const audit: UserAudit = {
    user,
    agent,
    usdc: {
      startBalance: decimal(balances.usdcStart),
      funded: decimal(funded),
      mintsPaid: decimal(mints.ledgerPaid),
      x402Paid: decimal(x402.ledgerPaid),
      withdrawn: decimal(withdrawn),
      inFlight: decimal(mints.inFlight + x402.inFlight),
      unexplainedOut: decimal(unexplained),
      balance: decimal(balances.usdcEnd),
      reserved: decimal(reserved),
      refundable: decimal(balances.usdcEnd > reserved ? balances.usdcEnd - reserved : 0n),
    },
    mints: {
      ledgerConfirmed: mints.ledgerConfirmed,
      onChain: mints.onChain,
      tokensReceived: decimal(mints.tokensReceived),
      x402Settled: payments.filter((p) => p.status === 'settled').length,
    },
    eth: {
      startBalance: decimal(balances.ethStart),
      topUps: decimal(eth.topUps),
      topUpsRecorded: decimal(tasks.reduce((a, t) => a + t.gasToppedUpWei, 0n)),
      otherIn: decimal(eth.otherIn),
      gasSpent: decimal(eth.gasSpent),
      ledgerMintGas: decimal(mints.ledgerMintGas),
      sentOut: decimal(eth.sentOut),
      swept: decimal(eth.swept),
      balance: decimal(balances.ethEnd),
      txs: eth.txs,
      reverted: eth.reverted,
    },
    tasks: mints.tasks,
  };
  return { audit, claims: claims.claims, discrepancies: d.map((x) => ({ user, agent, ...x })) };
}

/**
 * Per x402 task: mints of the payments settled and of those still open (signed or sent; a payment
 * buys one mint, or several from a seller that prices a quantity), and mints delivered as the
 * deliveries ledger counts them — token base units counted for the task ÷ what one paid mint
 * brings (ai_agent_x402_task_state.delivery_unit), each delivery checked on chain by
 * checkDeliveries. Progress is judged by what arrived, not by what was paid.
 */
function x402CountsOf(tasks: AuditTask[], payments: AuditX402Row[], deliveries: AuditX402Delivery[]) {
  const counts = new Map<string, X402Counts>();
  for (const task of tasks) if (task.route === 'x402') counts.set(task.id, { settled: 0, open: 0, delivered: 0 });
  for (const payment of payments) {
    const count = counts.get(payment.taskId);
    if (count && payment.status === 'settled') count.settled += payment.units;
    if (count && (payment.status === 'signed' || payment.status === 'sent')) count.open += payment.units;
  }
  const arrived = new Map<string, { amount: bigint; transfers: number }>();
  for (const delivery of deliveries) {
    const sum = arrived.get(delivery.taskId) ?? { amount: 0n, transfers: 0 };
    arrived.set(delivery.taskId, { amount: sum.amount + delivery.amount, transfers: sum.transfers + 1 });
  }
  for (const task of tasks) {
    const count = counts.get(task.id);
    const sum = arrived.get(task.id);
    // Without a unit (tasks counted before it was kept), each transfer is one mint.
    if (count && sum) count.delivered = task.deliveryUnit ? Number(sum.amount / task.deliveryUnit) : sum.transfers;
  }
  return counts;
}
