import { createHash, randomUUID } from 'node:crypto';
import type { PaymentRequired, PaymentRequiredV1 } from '@x402/core/types';
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { getTaskById, transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getX402SaleByPayment, insertTaskWithSale, type NewX402Sale } from '@/db/x402-sales';
import { readChain, verifyAuthorizationSignature } from '../chain/eip3009';
import { getUsdcDomain } from '../chain/usdc';
import { AppError, isAppError } from '../errors';
import { getLogger } from '../log';
import { createMintTask, type TaskInsertGuard } from '../tasks/create-task';
import { createX402Task } from '../tasks/create-x402-task';
import { checkFundingAuthorization, fundTask } from '../tasks/fund-task';
import { quoteMint } from '../tasks/quote';
import { getOrCreateAgentWallet } from '../wallets/agent-wallets';
import { readSalePayment, type SalePayment } from './payment';
import { paymentRequiredFor } from './terms';
import { hashTaskToken, taskTokenFor } from './task-token';

/**
 * What an agent buys: N mints of a token (or from an x402 endpoint), paid by `payer`, for
 * `recipient` (without it, for the payer).
 */
export type SaleRequest = { token?: Address; url?: string; quantity: number; payer: Address; recipient?: Address };

export type PaymentOffer = { v2: PaymentRequired; v1: PaymentRequiredV1 };
export type SoldTask = {
  task: TaskWithAgent;
  /** The funding transfer: the payment, settled. */
  txHash: Hex;
  /**
   * Null for a replay that proves nothing about its sender (replayToken), or when SESSION_SECRET
   * changed since the sale (the old token cannot be made again).
   */
  taskToken: string | null;
  payer: Address;
  version: 1 | 2;
  paymentId: string | null;
};
export type SaleOutcome = { kind: 'payment_required'; offer: PaymentOffer } | { kind: 'sold'; sold: SoldTask };

export type SaleOptions = {
  /** Runs once the payment's signature is the payer's: where a per-payer limit counts (anyone can name a payer). */
  onPayerVerified?: () => Promise<void>;
  nowMs?: number;
};

type Sale = Omit<NewX402Sale, 'taskId'> & { taskId?: string };

// Thrown by the insert guard when a concurrent request with the same payment created the task.
class AlreadySold extends Error {}

/**
 * POST /api/x402/mint. Unpaid: the price of the task and where to pay it (a 402 offer). Paid:
 * the payment is the task's EIP-3009 funding authorization (payTo = the payer's own agent
 * wallet), so buying is creating the task and funding it with that authorization:
 * - every check of task creation (token, quantity, minimum value, supply) and of the fund route
 *   (terms, signature, nonce unused, balance) runs before anything is written, so a payment that
 *   cannot buy a task creates nothing and is never settled;
 * - the task and its sale are inserted in one transaction keyed by the payment (payer + nonce)
 *   and the payer's payment-identifier, so a replay, a retry with the same payment id, or two
 *   posts at once find the one task instead of creating another;
 * - then fundTask settles it, once, however many requests carry the payment.
 * A payment the checks refuse gets a new offer naming why (402); nothing else changes.
 */
export async function sellMintTask(
  request: SaleRequest,
  headers: Headers,
  { onPayerVerified, nowMs = Date.now() }: SaleOptions = {},
): Promise<SaleOutcome> {
  try {
    const payment = readSalePayment(headers);
    if (!payment) return { kind: 'payment_required', offer: await offerMintTask(request) };
    return { kind: 'sold', sold: await buy(request, payment, { onPayerVerified, nowMs }) };
  } catch (error) {
    if (!isPaymentRefusal(error)) throw error;
    return { kind: 'payment_required', offer: await offerMintTask(request, error.message) };
  }
}

/** The 402 offer: the task's price, checked as creation checks it, payable to the payer's agent wallet. */
export async function offerMintTask(request: SaleRequest, error?: string): Promise<PaymentOffer> {
  const quote = await quoteMint({
    tokenAddress: request.token,
    url: request.url,
    quantity: request.quantity,
    userAddress: request.payer,
    recipient: request.recipient,
  });
  const wallet = await getOrCreateAgentWallet(request.payer);
  return paymentRequiredFor({ quote, payTo: getAddress(wallet.agentAddress) }, error);
}

// What the payer can fix by paying differently: the fund checks' refusals, and a payment of the
// wrong kind. Everything else (a transfer still confirming, a busy lock, the chain) is no reason
// to sign again, and keeps its own status.
const isPaymentRefusal = (error: unknown): error is AppError =>
  isAppError(error) && ['bad_request:fund', 'forbidden:fund', 'bad_request:x402_payment'].includes(error.code);

async function buy(
  request: SaleRequest,
  payment: SalePayment,
  { onPayerVerified, nowMs }: Required<Pick<SaleOptions, 'nowMs'>> & SaleOptions,
): Promise<SoldTask> {
  const { authorization } = payment;
  if (!isAddressEqual(authorization.from, request.payer)) {
    throw new AppError(
      'forbidden:fund',
      `The payment is signed by ${authorization.from}, but the request names payer ${request.payer}: the payer signs, and its own agent wallet is paid.`,
    );
  }
  // Before anything is looked up (a replayed sale answers with its task token, for the payer only),
  // and once: checkFundingAuthorization below takes it as verified.
  const domain = await readChain(() => getUsdcDomain());
  await verifyAuthorizationSignature({ authorization, signature: payment.signature, domain });
  await onPayerVerified?.();
  const requestHash = hashSaleRequest(request);
  const existing = await getX402SaleByPayment({
    payer: authorization.from,
    paymentNonce: authorization.nonce,
    paymentId: payment.paymentId,
  });
  if (existing) return resume(existing, requestHash, payment);

  const saleId = randomUUID();
  const sale: Sale = {
    id: saleId,
    payer: authorization.from,
    paymentNonce: authorization.nonce,
    paymentId: payment.paymentId,
    requestHash,
    taskTokenHash: hashTaskToken(taskTokenFor(saleId)),
    x402Version: payment.version,
  };
  // Task creation hands over the payer's agent wallet it looked up: the payment must be to it.
  const guard: TaskInsertGuard = async (totalCost, insert, { wallet }) => {
    const terms = {
      userAddress: authorization.from,
      agentAddress: wallet.agentAddress,
      totalCost: totalCost.toString(),
    };
    await checkFundingAuthorization(terms, authorization, nowMs);
    const task = await insertTaskWithSale((tx) => insert(tx), sale);
    if (!task) throw new AlreadySold();
    return task;
  };
  let task: TaskWithAgent;
  try {
    const { payer: userAddress, quantity, recipient } = request;
    task = request.url
      ? await createX402Task({ userAddress, url: request.url, quantity, tokenAddress: request.token, recipient, guard })
      : await createMintTask({ userAddress, tokenAddress: request.token!, quantity, recipient, guard });
  } catch (error) {
    if (!(error instanceof AlreadySold)) throw error;
    const winner = await getX402SaleByPayment({
      payer: authorization.from,
      paymentNonce: authorization.nonce,
      paymentId: payment.paymentId,
    });
    if (!winner) throw new Error('an x402 sale conflicted on insert and then could not be found');
    return resume(winner, requestHash, payment);
  }
  return settle({ ...sale, taskId: task.id }, task, payment, tokenOf(sale));
}

/** A payment (or payment id) that already bought a task: that task, and no second transfer. */
async function resume(sale: Sale & { taskId: string }, requestHash: string, payment: SalePayment): Promise<SoldTask> {
  const samePayment = sale.paymentNonce === payment.authorization.nonce;
  if (sale.requestHash !== requestHash) {
    throw new AppError(
      'conflict:x402_payment',
      `This ${samePayment ? 'payment' : 'payment-identifier'} already bought another purchase (task ${sale.taskId}); use a new one for a different purchase.`,
      { details: { taskId: sale.taskId } },
    );
  }
  const task = await getTaskById({ id: sale.taskId });
  if (!task) throw new Error(`task ${sale.taskId} of x402 sale ${sale.id} is missing`);
  const token = replayToken(sale, task, payment);
  if (task.fundingTxHash) return sold(sale, task, task.fundingTxHash as Hex, payment, token);
  if (task.status === 'pending_payment') return settle(sale, task, payment, token);
  throw new AppError(
    'conflict:x402_sale',
    `This purchase ended ${task.status} before it was paid${task.errorMessage ? ` (${task.errorMessage})` : ''}; nothing was charged. Buy again with a new payment${sale.paymentId ? ' and a new payment-identifier' : ''}.`,
    { details: { taskId: task.id, status: task.status } },
  );
}

/** Settles the payment as the task's funding (fundTask: checks again, sends once, waits for the receipt). */
async function settle(
  sale: Sale & { taskId: string },
  task: TaskWithAgent,
  payment: SalePayment,
  token: string | null,
) {
  try {
    const funded = await fundTask({
      taskId: task.id,
      authorization: payment.authorization,
      signature: payment.signature,
    });
    return sold(sale, funded.task, funded.txHash, payment, token);
  } catch (error) {
    const now = await getTaskById({ id: task.id });
    // Paid meanwhile by the purchase's other payment (a retry under the same payment id): that one counts.
    if (now?.fundingTxHash) return sold(sale, now, now.fundingTxHash as Hex, payment, token);
    if (now && isPaymentRefusal(error)) await cancelUnpaidTask(now, error.message);
    throw error;
  }
}

/**
 * A task whose payment the fund checks refused under the lock (the balance spent since the
 * pre-check, say) ends cancelled with the reason, unless a transfer for it was submitted.
 */
async function cancelUnpaidTask(task: TaskWithAgent, reason: string) {
  if (task.status !== 'pending_payment' || task.fundingSubmittedAt) return;
  const moved = await transitionTask({
    id: task.id,
    from: 'pending_payment',
    to: 'cancelled',
    set: { completedAt: new Date(), errorMessage: `x402 payment refused: ${reason}`.slice(0, 500) },
  });
  if (moved) getLogger().info({ taskId: task.id }, 'x402 sale: payment refused after the task was created; cancelled');
}

function sold(sale: Sale, task: TaskWithAgent, txHash: Hex, payment: SalePayment, taskToken: string | null): SoldTask {
  return {
    task,
    txHash,
    taskToken,
    payer: getAddress(sale.payer),
    version: payment.version,
    paymentId: sale.paymentId ?? null,
  };
}

function tokenOf(sale: Sale): string | null {
  const token = taskTokenFor(sale.id);
  return hashTaskToken(token) === sale.taskTokenHash ? token : null;
}

/**
 * The task token for a request that repeats a sale, judged by the task as the request found it.
 * The funding transfer carries the whole authorization and signature in its calldata, public from
 * the moment it is submitted, so from then on anyone can rebuild the payment header: a replay
 * proves only what the chain shows. The token (read and cancel) then goes only to a request
 * carrying the sale's payment-identifier, which never goes on chain; anyone else gets the task
 * without it (the payer signs in to see it).
 */
function replayToken(sale: Sale, task: TaskWithAgent, payment: SalePayment): string | null {
  const paymentPublic = task.fundingSubmittedAt !== null || task.fundingTxHash !== null;
  const sameId = !!sale.paymentId && sale.paymentId === payment.paymentId;
  return !paymentPublic || sameId ? tokenOf(sale) : null;
}

/** What was bought, so a payment id names one purchase: route, token or URL, quantity, recipient. */
function hashSaleRequest(request: SaleRequest) {
  const what = {
    route: request.url ? 'x402' : 'contract',
    token: request.token?.toLowerCase() ?? null,
    url: request.url ?? null,
    quantity: request.quantity,
    // Only when named, so a purchase for the payer hashes as it did before recipients existed.
    ...(request.recipient && { recipient: request.recipient.toLowerCase() }),
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}
