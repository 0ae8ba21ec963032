import { listEthSweepDueWallets } from '@/db/eth-sweeps';
import { listRefundDueWallets } from '@/db/refunds';
import type { AgentWallet } from '@/db/schema';
import { getWalletById } from '@/db/wallets';
import { getLogger } from '../log';
import { refundLeftover, type RefundResult } from './refund';
import { sweepAgentEth, SWEEP_QUIET_MS, type SweepResult } from './sweep';

// An agent wallet whose task has ended gives back what it holds for nobody: the user's unspent
// USDC to the user (refund.ts), then the operator's unburnt gas to the operator (sweep.ts). The
// refund goes first: it may need gas, which the sweep would otherwise have just sent away.

export type TidyResult = { refund: RefundResult; sweep: SweepResult };

/**
 * Refunds, then sweeps, one wallet; each step skips a busy wallet and says why. Only a wallet
 * marked for a sweep (every top-up marks it) is swept: an unmarked one holds no more than a sweep
 * left it, and a top-up the refund sends now marks it for the tick, once it is quiet.
 */
export async function tidyWallet(wallet: AgentWallet, { signal }: { signal?: AbortSignal } = {}): Promise<TidyResult> {
  const refund = await refundLeftover(wallet);
  const sweep: SweepResult = wallet.ethSweepDueAt
    ? await sweepAgentEth(wallet, { signal })
    : { swept: false, reason: 'not marked for a sweep since the last one' };
  return { refund, sweep };
}

/**
 * One pass over idle wallets with an ended task not yet refunded, or marked for a sweep (every
 * top-up marks its wallet), at most `limit`, least recently looked at first, one at a time. A
 * wallet that fails is logged and the pass goes on.
 */
export async function tidyIdleWallets({ limit, signal }: { limit: number; signal?: AbortSignal }) {
  const [refunds, sweeps] = await Promise.all([
    listRefundDueWallets({ limit }),
    listEthSweepDueWallets({ quietMs: SWEEP_QUIET_MS, limit }),
  ]);
  const results: TidyResult[] = [];
  for (const id of [...new Set([...refunds, ...sweeps])].slice(0, limit)) {
    if (signal?.aborted) break;
    const wallet = await getWalletById({ id });
    if (!wallet) continue;
    try {
      results.push(await tidyWallet(wallet, { signal }));
    } catch (error) {
      getLogger().warn(
        { agentWalletId: id, err: String(error) },
        'idle agent wallet not tidied; the next tick tries again',
      );
    }
  }
  return results;
}
