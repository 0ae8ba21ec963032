import { formatUnits } from 'viem';
import { getX402ClaimsAgainstSeller } from '@/db/x402-claims';
import { getLogger } from '../log';

// What AgentMint's own records say about an x402 seller before anyone pays it again: open claims
// (payments it settled without delivering, worker/x402/ending.ts) against its payee or its host,
// from any user. Quoting and creating a task look it up after the probe; the answer carries a
// warning (English and Chinese, the chat picks one) and the user decides — a claim is evidence,
// not a verdict, and creating the task stays possible.

export type SellerWarning = {
  /** Open claims against the seller, and how many users they came from. */
  claims: number;
  users: number;
  /** USDC base units those payments took, and the same in USDC. */
  taken: string;
  takenUsdc: string;
  lastClaimAt: string;
  /** Whether the claims name this payee (the same wallet was paid), this host (the same server), or both. */
  matchedBy: ('payTo' | 'host')[];
  message: { en: string; zh: string };
};

/**
 * The warning for a seller with open claims, or undefined for one without. A failed lookup is
 * logged and answers undefined: the record is advice, and its absence must not block a quote.
 */
export async function getSellerWarning({
  payTo,
  host,
}: {
  payTo: string;
  host: string;
}): Promise<SellerWarning | undefined> {
  const record = await getX402ClaimsAgainstSeller({ payTo, host }).catch((error: unknown) => {
    getLogger().error(
      { err: error instanceof Error ? error.message : String(error), host },
      'x402 seller record lookup failed',
    );
    return undefined;
  });
  if (!record) return undefined;
  const takenUsdc = formatUnits(BigInt(record.amount), 6);
  const matchedBy = [...(record.byPayTo ? (['payTo'] as const) : []), ...(record.byHost ? (['host'] as const) : [])];
  const who = {
    en: record.byPayTo ? 'This seller' : `The seller at ${host}`,
    zh: record.byPayTo ? '这个卖家' : `${host} 上的卖家`,
  };
  return {
    claims: record.claims,
    users: record.users,
    taken: record.amount,
    takenUsdc,
    lastClaimAt: record.lastAt.toISOString(),
    matchedBy,
    message: {
      en: `⚠️ ${who.en} took payment without delivering before: ${record.claims} claim(s) on record from ${record.users} user(s), ${takenUsdc} USDC paid for tokens that never arrived. If you go ahead, AgentMint pays one mint first and stops at that payment if nothing arrives; the rest stays refundable.`,
      zh: `⚠️ ${who.zh}曾经收款后不交付：记录中有 ${record.claims} 条未交付记录，来自 ${record.users} 位用户，共 ${takenUsdc} USDC 付款后代币从未到账。如果继续，AgentMint 会先只付一次款，若代币没有到账就停在这一笔，其余资金可以退回。`,
    },
  };
}
