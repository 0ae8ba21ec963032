import { decodeFunctionData, erc20Abi, type Address, type Hex } from 'viem';
import { decodeBatchExecute } from '../chain/batch-calls';
import { MINT_SELECTOR } from '../chain/mint-signature';
import type { Balances, ChainTx } from './chain-facts';
import type { Discrepancy } from './types';

// ETH: what the operator sent the agent as gas top-ups against the gas the agent spent and what
// it swept back. On chain, ETH in − gas − ETH out must equal the agent's balance change over the
// range; and every transaction the agent sent must be one AgentMint makes (what the transaction
// guard allows), so a key used behind AgentMint's back shows up even when it moved no USDC. A
// sweep is known by its shape: a plain transfer to the operator (lib/wallets/sweep.ts). After an
// operator key change, sweeps to the former operator are not ours by that shape: audit from a
// block after the change.

/** EIP-7702 delegation designator: 0xef0100 ‖ the delegate's address. */
const DELEGATION_PREFIX = '0xef0100';

export type EthComparison = {
  discrepancies: Omit<Discrepancy, 'user' | 'agent'>[];
  topUps: bigint;
  otherIn: bigint;
  gasSpent: bigint;
  sentOut: bigint;
  /** Sweeps: the agent's unburnt gas sent back to the operator. */
  swept: bigint;
  txs: number;
  /** Agent transactions that were mined but reverted (their gas is spent all the same). */
  reverted: number;
};

export type AgentTxKind =
  'mint' | 'approve' | 'withdraw' | 'forward' | 'refund_eth' | 'sweep' | 'nonce_fill' | 'batch' | 'unknown';
type ClassifyContext = {
  agent: Address;
  user: Address;
  usdc: Address;
  tokens: Set<string>;
  /** x402 tasks' tokens the agent may forward, each with where to: its tasks' recipients, else the user. */
  forwardTokens?: Map<string, Set<string>>;
  /** AgentBatchExecutor: the only contract an agent delegates to (EIP-7702). */
  batchExecutor?: Address;
  /** The operator: ETH it sent as gas may go back to it (a sweep), outside any batch. */
  operator?: Address;
};

/**
 * What an agent transaction is, judged the way the guard judges it (lib/wallets/tx-guard.ts):
 * a batch is known only when it is AgentBatchExecutor's `execute` and every call inside it is
 * one AgentMint makes, and an EIP-7702 authorization list may only delegate to that executor.
 */
export function classifyAgentTx(
  tx: Pick<ChainTx, 'to' | 'input' | 'value' | 'type'> & { delegations?: readonly string[] },
  ctx: ClassifyContext,
): AgentTxKind {
  const executor = ctx.batchExecutor?.toLowerCase();
  if ((tx.delegations ?? []).some((d) => d.toLowerCase() !== executor)) return 'unknown';
  const to = tx.to?.toLowerCase();
  const data = tx.input && tx.input !== '0x' ? tx.input : undefined;
  if (!to) return 'unknown';
  if (to === ctx.agent) {
    // An empty self-send fills a nonce; a call to itself runs its delegated code (a batch).
    if (!data) return tx.value === 0n && tx.type !== '0x4' ? 'nonce_fill' : 'unknown';
    if (tx.value !== 0n || !executor) return 'unknown';
    let calls;
    try {
      calls = decodeBatchExecute(data).calls;
    } catch {
      return 'unknown';
    }
    const known = calls.every((c) => {
      if (c.to.toLowerCase() === ctx.agent) return false;
      const kind = classifyAgentTx({ to: c.to, input: c.data, value: c.value ?? 0n, type: '0x2' }, ctx);
      return kind !== 'unknown' && kind !== 'sweep';
    });
    return calls.length > 0 && known ? 'batch' : 'unknown';
  }
  if (!data) {
    if (tx.value === 0n) return 'unknown';
    if (to === ctx.user) return 'refund_eth';
    return to === ctx.operator ? 'sweep' : 'unknown';
  }
  if (tx.value !== 0n) return 'unknown';
  if (ctx.tokens.has(to) && data.startsWith(MINT_SELECTOR)) return 'mint';
  // An x402 endpoint that mints to the payer: the agent forwards the tokens to the task's recipient, else its user.
  const destinations = ctx.forwardTokens?.get(to);
  if (destinations) {
    try {
      const call = decodeFunctionData({ abi: erc20Abi, data: data as Hex });
      if (call.functionName === 'transfer' && destinations.has((call.args[0] as string).toLowerCase()))
        return 'forward';
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
  batchExecutor,
  txs,
  balances,
  alreadyReported,
}: {
  agent: Address;
  user: Address;
  usdc: Address;
  operator: Address;
  tokens: Set<string>;
  forwardTokens: Map<string, Set<string>>;
  batchExecutor?: Address;
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
    swept: 0n,
    txs: 0,
    reverted: 0,
  };
  for (const tx of txs) {
    if (tx.from === agent) {
      out.txs++;
      out.gasSpent += tx.gasCost;
      const kind = classifyAgentTx(tx, { agent, user, usdc, tokens, forwardTokens, batchExecutor, operator });
      if (!tx.success) out.reverted++;
      else if (kind === 'sweep') out.swept += tx.value;
      else out.sentOut += tx.value;
      if (tx.to === agent && tx.success) out.otherIn += tx.value; // a self-send returns what it sent
      if (kind === 'unknown' && !alreadyReported.has(tx.hash)) {
        const delegation = tx.delegations.length ? `, delegating to ${tx.delegations.join(', ')}` : '';
        out.discrepancies.push({
          kind: 'agent_tx_unknown',
          txHash: tx.hash,
          amount: tx.value.toString(),
          message: `the agent sent a transaction AgentMint never makes (to ${tx.to ?? 'contract creation'}, selector ${tx.input.slice(0, 10)}, ${tx.value} wei${delegation})`,
        });
      }
    } else if (tx.to === agent && tx.success) {
      if (tx.from === operator) out.topUps += tx.value;
      else out.otherIn += tx.value;
    }
  }
  // An EIP-7702 delegation can be installed by anyone holding the agent's signature, in a
  // transaction the agent never sends: the code itself is what shows it.
  const code = balances.codeEnd?.toLowerCase();
  const ours = batchExecutor && `${DELEGATION_PREFIX}${batchExecutor.slice(2).toLowerCase()}`;
  if (code && code !== '0x' && code !== ours) {
    const target = code.startsWith(DELEGATION_PREFIX) && code.length === 48 ? `0x${code.slice(8)}` : undefined;
    out.discrepancies.push({
      kind: 'agent_delegation_unknown',
      actual: target ?? code.slice(0, 66),
      message: target
        ? `the agent's code delegates to ${target}, not AgentMint's batch executor ${batchExecutor ?? '(none configured)'}: that contract now runs every call to the wallet`
        : `the agent wallet has contract code that is not an EIP-7702 delegation`,
    });
  }

  const expected = balances.ethStart + out.topUps + out.otherIn - out.gasSpent - out.sentOut - out.swept;
  if (expected !== balances.ethEnd) {
    out.discrepancies.push({
      kind: 'eth_unbalanced',
      expected: expected.toString(),
      actual: balances.ethEnd.toString(),
      amount: (balances.ethEnd - expected).toString(),
      message: `ETH: start ${balances.ethStart} + top-ups ${out.topUps} + other ${out.otherIn} − gas ${out.gasSpent} − sent ${out.sentOut} − swept ${out.swept} = ${expected}, the balance is ${balances.ethEnd}`,
    });
  }
  return out;
}
