import { decodeFunctionData, erc20Abi, type Address, type Hex } from 'viem';
import { MINT_SELECTOR } from '../chain/mint-signature';
import type { Balances, ChainTx } from './chain-facts';
import type { Discrepancy } from './types';

// ETH: what the operator sent the agent as gas top-ups against the gas the agent spent. On
// chain, ETH in − gas − ETH out must equal the agent's balance change over the range; and
// every transaction the agent sent must be one AgentMint makes (what the transaction guard
// allows), so a key used behind AgentMint's back shows up even when it moved no USDC.

export type EthComparison = {
  discrepancies: Omit<Discrepancy, 'user' | 'agent'>[];
  topUps: bigint;
  otherIn: bigint;
  gasSpent: bigint;
  sentOut: bigint;
  txs: number;
  /** Agent transactions that were mined but reverted (their gas is spent all the same). */
  reverted: number;
};

export type AgentTxKind =
  'mint' | 'approve' | 'withdraw' | 'forward' | 'refund_eth' | 'nonce_fill' | 'batch' | 'unknown';
type ClassifyContext = {
  agent: Address;
  user: Address;
  usdc: Address;
  tokens: Set<string>;
  forwardTokens?: Set<string>;
};

/** What an agent transaction is, judged the way the guard judges it (lib/wallets/tx-guard.ts). */
export function classifyAgentTx(
  tx: Pick<ChainTx, 'to' | 'input' | 'value' | 'type'>,
  ctx: ClassifyContext,
): AgentTxKind {
  const to = tx.to?.toLowerCase();
  const data = tx.input && tx.input !== '0x' ? tx.input : undefined;
  if (!to) return 'unknown';
  if (to === ctx.agent) {
    // A delegated batch (EIP-7702: the agent calls its own code), or an empty self-send that fills a nonce.
    if (tx.type === '0x4' || data) return 'batch';
    return tx.value === 0n ? 'nonce_fill' : 'unknown';
  }
  if (!data) return to === ctx.user && tx.value > 0n ? 'refund_eth' : 'unknown';
  if (tx.value !== 0n) return 'unknown';
  if (ctx.tokens.has(to) && data.startsWith(MINT_SELECTOR)) return 'mint';
  // An x402 endpoint that mints to the payer: the agent forwards the tokens to its user.
  if (ctx.forwardTokens?.has(to)) {
    try {
      const call = decodeFunctionData({ abi: erc20Abi, data: data as Hex });
      if (call.functionName === 'transfer' && (call.args[0] as string).toLowerCase() === ctx.user) return 'forward';
    } catch {
      return 'unknown';
    }
  }
  if (to === ctx.usdc) {
    try {
      const call = decodeFunctionData({ abi: erc20Abi, data: data as Hex });
      if (call.functionName === 'approve' && ctx.tokens.has((call.args[0] as string).toLowerCase())) return 'approve';
      if (call.functionName === 'transfer' && (call.args[0] as string).toLowerCase() === ctx.user) return 'withdraw';
    } catch {
      return 'unknown';
    }
  }
  return 'unknown';
}

export function compareEth({
  agent,
  user,
  usdc,
  operator,
  tokens,
  forwardTokens,
  txs,
  balances,
  alreadyReported,
}: {
  agent: Address;
  user: Address;
  usdc: Address;
  operator: Address;
  tokens: Set<string>;
  forwardTokens: Set<string>;
  txs: ChainTx[];
  balances: Balances;
  /** Transactions another check already reported (not listed twice). */
  alreadyReported: Set<string>;
}): EthComparison {
  const out: EthComparison = {
    discrepancies: [],
    topUps: 0n,
    otherIn: 0n,
    gasSpent: 0n,
    sentOut: 0n,
    txs: 0,
    reverted: 0,
  };
  for (const tx of txs) {
    if (tx.from === agent) {
      out.txs++;
      out.gasSpent += tx.gasCost;
      if (tx.success) out.sentOut += tx.value;
      else out.reverted++;
      if (tx.to === agent && tx.success) out.otherIn += tx.value; // a self-send returns what it sent
      const kind = classifyAgentTx(tx, { agent, user, usdc, tokens, forwardTokens });
      if (kind === 'unknown' && !alreadyReported.has(tx.hash)) {
        out.discrepancies.push({
          kind: 'agent_tx_unknown',
          txHash: tx.hash,
          amount: tx.value.toString(),
          message: `the agent sent a transaction AgentMint never makes (to ${tx.to ?? 'contract creation'}, selector ${tx.input.slice(0, 10)})`,
        });
      }
    } else if (tx.to === agent && tx.success) {
      if (tx.from === operator) out.topUps += tx.value;
      else out.otherIn += tx.value;
    }
  }
  const expected = balances.ethStart + out.topUps + out.otherIn - out.gasSpent - out.sentOut;
  if (expected !== balances.ethEnd) {
    out.discrepancies.push({
      kind: 'eth_unbalanced',
      expected: expected.toString(),
      actual: balances.ethEnd.toString(),
      amount: (balances.ethEnd - expected).toString(),
      message: `ETH: start ${balances.ethStart} + top-ups ${out.topUps} + other ${out.otherIn} − gas ${out.gasSpent} − sent ${out.sentOut} = ${expected}, the balance is ${balances.ethEnd}`,
    });
  }
  return out;
}
