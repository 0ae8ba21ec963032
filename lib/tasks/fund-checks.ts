import { formatUnits, getAddress, isAddressEqual, type Hex } from 'viem';
import type { TaskWithAgent } from '@/db/tasks';
import { AppError } from '../errors';
import type { Authorization, authorizationToJson } from '../chain/eip3009';

/** Bounds of an acceptable `validBefore`: long enough to land, short enough to be a payment. */
export const MIN_VALIDITY_SECONDS = 30n;
export const MAX_VALIDITY_SECONDS = 7n * 24n * 3600n;
// Anything past year 2286 in seconds is certainly a JavaScript millisecond timestamp.
const MILLISECONDS_THRESHOLD = 10_000_000_000n;

/** What `funding_authorization` holds once a task is funded. */
export type StoredFunding = { authorization: ReturnType<typeof authorizationToJson>; signature: Hex };

// A 65-byte signature is the same whether v is written 0/1 or 27/28; compare r and s.
const sameSignature = (a: string, b: string) =>
  a.length === 132 && b.length === 132
    ? a.slice(0, 130).toLowerCase() === b.slice(0, 130).toLowerCase()
    : a.toLowerCase() === b.toLowerCase();

/**
 * For a task that no longer awaits payment: the same authorization posted again gets the
 * original outcome (idempotent replay); anything else is a 409 naming the status.
 */
export function replayOrConflict(task: TaskWithAgent, authorization: Authorization, signature: Hex): { txHash: Hex } {
  const stored = task.fundingAuthorization as StoredFunding | null;
  const sameAuthorization =
    stored &&
    task.fundingTxHash &&
    stored.authorization.nonce === authorization.nonce.toLowerCase() &&
    stored.authorization.from === authorization.from.toLowerCase() &&
    sameSignature(stored.signature, signature);
  if (sameAuthorization && task.status !== 'cancelled') return { txHash: task.fundingTxHash as Hex };
  if (sameAuthorization) {
    // A cancel (the user's, or the payment timeout's) won the race against this very transfer.
    throw new AppError(
      'conflict:task',
      `Task was cancelled while the transfer ${task.fundingTxHash} was confirming; the USDC is in your agent wallet and can be withdrawn.`,
      { details: { status: task.status, txHash: task.fundingTxHash } },
    );
  }
  if (task.fundingTxHash && task.status !== 'cancelled') {
    throw new AppError(
      'conflict:task',
      `Task is already funded (status ${task.status}) by transaction ${task.fundingTxHash}.`,
      {
        details: { status: task.status, txHash: task.fundingTxHash },
      },
    );
  }
  throw new AppError('conflict:task', `Task is ${task.status}, not pending_payment; it cannot be funded.`, {
    details: { status: task.status, ...(task.fundingTxHash ? { txHash: task.fundingTxHash } : {}) },
  });
}

// A transfer takes a few seconds to confirm; a window closing sooner than this is treated as
// closed, so the expiry job cannot cancel the task while its USDC is on the way.
const PAYMENT_WINDOW_MARGIN_MS = 15_000;

/** Refuses a task whose payment window (PAYMENT_TIMEOUT) has closed or is about to. */
export function checkPaymentWindow(task: TaskWithAgent, timeoutSeconds: number, nowMs: number) {
  const closesAt = task.createdAt.getTime() + timeoutSeconds * 1000;
  if (closesAt - PAYMENT_WINDOW_MARGIN_MS <= nowMs) {
    throw new AppError(
      'conflict:task',
      `The payment window of this task (${Math.round(timeoutSeconds / 60)} min) has closed; it will be cancelled. Create a new task.`,
      {
        details: { status: task.status },
      },
    );
  }
}

/** Everything about the authorization that needs neither the chain nor a lock. */
export function checkAuthorizationTerms(
  task: Pick<TaskWithAgent, 'userAddress' | 'agentAddress' | 'totalCost'>,
  a: Authorization,
  nowMs: number,
) {
  if (!isAddressEqual(a.from, task.userAddress as Hex)) {
    throw new AppError(
      'forbidden:fund',
      `authorization.from ${getAddress(a.from)} is not the owner of this task; the task owner must sign.`,
    );
  }
  if (!isAddressEqual(a.to, task.agentAddress as Hex)) {
    throw new AppError(
      'bad_request:fund',
      `authorization.to must be this task's agent wallet ${getAddress(task.agentAddress)}, got ${getAddress(a.to)}.`,
    );
  }
  const cost = BigInt(task.totalCost);
  if (a.value !== cost) {
    const side = a.value > cost ? 'above' : 'below';
    throw new AppError(
      'bad_request:fund',
      `authorization.value ${a.value} (${formatUnits(a.value, 6)} USDC) is ${side} the task's total cost ${cost} (${formatUnits(cost, 6)} USDC); it must match exactly.`,
    );
  }
  const now = BigInt(Math.floor(nowMs / 1000));
  for (const field of ['validAfter', 'validBefore'] as const) {
    if (a[field] >= MILLISECONDS_THRESHOLD) {
      throw new AppError(
        'bad_request:fund',
        `authorization.${field} ${a[field]} looks like milliseconds; use Unix time in seconds, not milliseconds.`,
      );
    }
  }
  if (a.validAfter > now)
    throw new AppError(
      'bad_request:fund',
      `authorization is not valid yet: validAfter ${a.validAfter} is after now (${now}, seconds).`,
    );
  if (a.validBefore <= now)
    throw new AppError(
      'bad_request:fund',
      `authorization has expired: validBefore ${a.validBefore} is not after now (${now}, seconds).`,
    );
  if (a.validBefore < now + MIN_VALIDITY_SECONDS) {
    throw new AppError(
      'bad_request:fund',
      `authorization expires too soon: validBefore must be at least ${MIN_VALIDITY_SECONDS} s from now (${now}).`,
    );
  }
  if (a.validBefore > now + MAX_VALIDITY_SECONDS) {
    throw new AppError(
      'bad_request:fund',
      `authorization.validBefore ${a.validBefore} is too far in the future: at most 7 days from now (${now}, seconds).`,
    );
  }
}
