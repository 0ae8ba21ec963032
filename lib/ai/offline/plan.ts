import type { Lang } from '../format';
import { parseUtterance, type KnownToken, type Utterance } from './intent';

// What the offline model does with a conversation: the user turns are read oldest first, so a
// mint request missing its address or quantity is completed by a later turn that only gives
// the missing value ("我想 mint 100 个 token" … "0x1234…"). Any other request drops it.

export type ChatToolCall = { toolName: string; input: Record<string, unknown> };

export type Action =
  | { kind: 'tool'; call: ChatToolCall }
  | { kind: 'last'; toolName: 'getTask' | 'cancelTask' | 'retryTask' }
  | { kind: 'ask'; tokenAddress?: string; symbol?: string; quantity?: number; url?: string; quote?: boolean }
  | { kind: 'say'; what: 'help' | 'transfer' | 'foreign' | 'which_task' | 'thanks' | 'unknown' };

export type TurnPlan = { lang: Lang; action: Action };

type PendingMint = {
  tokenAddress?: string;
  symbol?: string;
  quantity?: number;
  url?: string;
  awaitingToken?: boolean;
  /** The request is a price question: complete it with `quote`, not a task. */
  quote?: boolean;
};

/**
 * A price question gets `quote` and creates nothing. Its slots stay pending, so "mint them" (or
 * "好，mint 吧") next creates the task that was priced.
 */
function quoteAction(slots: PendingMint): { action: Action; pending?: PendingMint } {
  if ((slots.url || slots.tokenAddress) && slots.quantity !== undefined) {
    const input = {
      ...(slots.url ? { url: slots.url } : {}),
      ...(slots.tokenAddress ? { tokenAddress: slots.tokenAddress } : {}),
      quantity: slots.quantity,
    };
    // An endpoint may not name its token: the quote then asks, and a bare address re-quotes.
    const awaitingToken = Boolean(slots.url && !slots.tokenAddress);
    return {
      action: { kind: 'tool', call: { toolName: 'quote', input } },
      pending: { ...slots, quote: awaitingToken },
    };
  }
  return { action: { kind: 'ask', ...slots, quote: true }, pending: { ...slots, quote: true } };
}

function mintAction(slots: PendingMint): { action: Action; pending?: PendingMint } {
  if (slots.url) {
    if (slots.quantity === undefined)
      return { action: { kind: 'ask', url: slots.url, quantity: slots.quantity }, pending: slots };
    const input = {
      url: slots.url,
      quantity: slots.quantity,
      ...(slots.tokenAddress ? { tokenAddress: slots.tokenAddress } : {}),
    };
    // The endpoint may not say which token it sells: then the tool asks, and the next message's
    // bare address completes this same request.
    return {
      action: { kind: 'tool', call: { toolName: 'createX402Task', input } },
      pending: slots.tokenAddress ? undefined : { ...slots, awaitingToken: true },
    };
  }
  if (slots.tokenAddress && slots.quantity !== undefined) {
    return {
      action: {
        kind: 'tool',
        call: { toolName: 'createMintTask', input: { tokenAddress: slots.tokenAddress, quantity: slots.quantity } },
      },
    };
  }
  return { action: { kind: 'ask', ...slots }, pending: slots };
}

const merge = (pending: PendingMint | undefined, u: Utterance): PendingMint => ({
  tokenAddress: u.tokenAddress ?? pending?.tokenAddress,
  symbol: u.tokenAddress ? u.symbol : pending?.symbol,
  quantity: u.quantity ?? pending?.quantity,
  // "mint 5 of 0x…" after an endpoint request is a new contract request, not more of the endpoint.
  url: u.url ?? (u.intent === 'mint' && u.tokenAddress ? undefined : pending?.url),
});

function actionFor(u: Utterance, pending: PendingMint | undefined): { action: Action; pending?: PendingMint } {
  switch (u.intent) {
    case 'quote':
      return quoteAction(merge(pending, u));
    case 'mint':
      return mintAction(merge(pending, u));
    case 'fragment':
      // After an endpoint request went to the tool, only the token it may have asked for continues it.
      if (pending?.awaitingToken && !u.tokenAddress) pending = undefined;
      if (pending?.quote) return quoteAction(merge(pending, u));
      if (pending || u.tokenAddress || u.url) return mintAction(merge(pending, u));
      return { action: { kind: 'say', what: 'unknown' } };
    case 'wallet':
      return { action: { kind: 'tool', call: { toolName: 'getAgentWallet', input: {} } } };
    case 'list':
      return {
        action: {
          kind: 'tool',
          call: { toolName: 'listTasks', input: u.status ? { limit: 5, status: u.status } : { limit: 5 } },
        },
      };
    case 'status':
    case 'cancel':
    case 'retry': {
      const toolName = u.intent === 'status' ? 'getTask' : u.intent === 'cancel' ? 'cancelTask' : 'retryTask';
      if (u.taskId) return { action: { kind: 'tool', call: { toolName, input: { taskId: u.taskId } } } };
      return { action: { kind: 'last', toolName } };
    }
    case 'help':
    case 'transfer':
    case 'foreign':
    case 'which_task':
    case 'thanks':
      return { action: { kind: 'say', what: u.intent } };
    default:
      return { action: { kind: 'say', what: 'unknown' } };
  }
}

/** The action for the newest user turn, given every user turn of the conversation. */
export function planTurn(userTexts: string[], tokens: KnownToken[]): TurnPlan {
  let pending: PendingMint | undefined;
  let action: Action = { kind: 'say', what: 'help' };
  let lang: Lang | undefined;
  for (const text of userTexts) {
    const utterance = parseUtterance(text, tokens);
    const next = actionFor(utterance, pending);
    action = next.action;
    pending = next.pending;
    lang = utterance.lang ?? lang;
  }
  return { lang: lang ?? 'en', action };
}
