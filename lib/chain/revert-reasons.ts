import { BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from 'viem';
import { paidMintTokenAbi } from './contracts.generated';

// Every error the mint path meets falls into one of two kinds:
//  - transient: the node, the network or a nonce race; retried with backoff, the task stays
//    `processing` however long it lasts (an RPC outage is not the user's fault);
//  - revert (or anything we do not recognise): counts one attempt; after MAX_RETRIES the task
//    fails with `message`, which is written for the person who owns the task.

export type RevertReason =
  | 'supply_exhausted'
  | 'allowance'
  | 'balance'
  | 'bad_signature'
  | 'paused'
  | 'mint_id_used'
  | 'gas_funds'
  | 'gas_cap'
  | 'gas_budget'
  | 'unknown';

/**
 * Reasons that no retry can cure: the token's mint costs more gas than AgentMint will pay for
 * (MAX_MINT_GAS), or the user's gas budget is spent. The task fails at once, with the message.
 */
export const FINAL_REVERT_REASONS: ReadonlySet<RevertReason> = new Set(['gas_cap', 'gas_budget']);

export type TransientReason =
  'timeout' | 'connection' | 'rate_limited' | 'nonce' | 'already_known' | 'underpriced' | 'fee_cap';

export type ChainErrorClass =
  | { kind: 'transient'; reason: TransientReason; message: string }
  | { kind: 'revert'; reason: RevertReason; message: string };

const REVERT_MESSAGES: Record<string, { reason: RevertReason; message: string }> = {
  MintCapReached: {
    reason: 'supply_exhausted',
    message: "The token's mint supply is exhausted; no more mints are possible.",
  },
  ERC20InsufficientAllowance: {
    reason: 'allowance',
    message: "The agent wallet's USDC allowance for the token is too low for the next mint.",
  },
  ERC20InsufficientBalance: {
    reason: 'balance',
    message: 'The agent wallet does not hold enough USDC for the remaining mints.',
  },
  InvalidMintSignature: {
    reason: 'bad_signature',
    message: "The token rejected AgentMint's mint signature (its mint signer may have changed).",
  },
  EnforcedPause: { reason: 'paused', message: 'Minting of this token is paused by its owner.' },
  MintIdUsed: { reason: 'mint_id_used', message: 'This mint was already made.' },
};

/** Raised by our own code for a condition that is worth retrying (e.g. fees above the cap). */
export class TransientChainError extends Error {
  constructor(
    readonly reason: TransientReason,
    message: string,
  ) {
    super(message);
    this.name = 'TransientChainError';
  }
}

/** Raised for a reverted mint whose reason we decoded or could not decode. */
export class MintRevertError extends Error {
  constructor(
    readonly reason: RevertReason,
    message: string,
  ) {
    super(message);
    this.name = 'MintRevertError';
  }
}

const TRANSIENT_PATTERNS: [RegExp, TransientReason][] = [
  [/already known|known transaction|already imported/i, 'already_known'],
  [/nonce too low|nonce too high|invalid nonce|nonce has already been used/i, 'nonce'],
  [/replacement transaction underpriced|transaction underpriced|fee too low/i, 'underpriced'],
  [/\b429\b|too many requests|rate limit/i, 'rate_limited'],
  [/timed? ?out|timeout|took too long/i, 'timeout'],
  [
    /ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|socket hang up|fetch failed|network|HTTP request failed|\b50[234]\b|connection (terminated|ended|closed)|CONNECTION_|terminating connection/i,
    'connection',
  ],
];

function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(current.name, current.message);
      const details = (current as { details?: unknown }).details;
      if (typeof details === 'string') parts.push(details);
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string') parts.push(code);
      const status = (current as { status?: unknown }).status;
      if (typeof status === 'number') parts.push(`HTTP ${status}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(' | ');
}

/** The custom error's name, from a viem contract error or from raw revert data in the chain. */
export function revertErrorName(error: unknown): string | undefined {
  if (error instanceof BaseError) {
    const reverted = error.walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError | null;
    if (reverted?.data?.errorName) return reverted.data.errorName;
  }
  const data = findRevertData(error);
  if (data) {
    try {
      return decodeErrorResult({ abi: paidMintTokenAbi, data }).errorName;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function findRevertData(error: unknown): Hex | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data as Hex;
    if (data && typeof data === 'object' && typeof (data as { data?: unknown }).data === 'string')
      return (data as { data: Hex }).data;
    current = (current as { cause?: unknown }).cause;
  }
  const match = /(?:revert(?:ed)?|data)[^0x]*(0x[0-9a-fA-F]{8,})/i.exec(errorText(error));
  return match?.[1] as Hex | undefined;
}

export function classifyChainError(error: unknown): ChainErrorClass {
  if (error instanceof TransientChainError) return { kind: 'transient', reason: error.reason, message: error.message };
  if (error instanceof MintRevertError) return { kind: 'revert', reason: error.reason, message: error.message };
  const name = revertErrorName(error);
  if (name && REVERT_MESSAGES[name]) return { kind: 'revert', ...REVERT_MESSAGES[name] };
  const text = errorText(error);
  if (/insufficient funds for gas|insufficient funds for transfer/i.test(text)) {
    return { kind: 'revert', reason: 'gas_funds', message: 'The agent wallet has too little ETH to pay for gas.' };
  }
  if (!/execution reverted|revert/i.test(text)) {
    for (const [pattern, reason] of TRANSIENT_PATTERNS) {
      if (pattern.test(text)) return { kind: 'transient', reason, message: shortMessage(error) };
    }
  }
  return { kind: 'revert', reason: 'unknown', message: `The mint transaction failed: ${shortMessage(error)}` };
}

export function shortMessage(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  if (error instanceof Error) return error.message.split('\n')[0]!;
  return String(error);
}

/** The readable message for a revert reason (used when only the receipt says "reverted"). */
export function revertMessageOf(errorName: string | undefined): { reason: RevertReason; message: string } {
  return (
    (errorName && REVERT_MESSAGES[errorName]) || {
      reason: 'unknown',
      message: 'The mint transaction reverted on chain.',
    }
  );
}

/** What a call's raw revert data means (a failed call inside a try-mode batch reports it). */
export function revertOfReturnData(data: Hex): { reason: RevertReason; message: string } {
  try {
    return revertMessageOf(decodeErrorResult({ abi: paidMintTokenAbi, data }).errorName);
  } catch {
    return revertMessageOf(undefined);
  }
}
