import { getAddress, type Address, type Hex } from 'viem';
import {
  listOpenX402AuthorizationsOfEndedTasks,
  listUnrefundedTaskIdsByWallet,
  markTasksRefundChecked,
  touchUnrefundedTasks,
} from '@/db/refunds';
import type { AgentWallet } from '@/db/schema';
import { resolveX402Payments } from '@/db/x402-payments';
import { getPublicClient } from '../chain/clients';
import { isAuthorizationUsedAt } from '../chain/eip3009';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { AppError } from '../errors';
import { refundToUser, type RefundOutcome } from './withdraw';

// What a task did not spend goes back to its user on its own once the task has ended and the
// wallet is idle (the worker calls this right after a task ends, and on its tick for the wallets
// it did not: a task cancelled before any worker ran it, a worker that died, a wallet that was
// busy). It is the withdraw route's code (refundToUser: the same locks, the guard's one allowed
// recipient, the balance read on chain under the locks), so a refund is never sent twice, even
// by two workers at once or after a kill -9 between sending and recording: the second finds the
// first in flight or mined, and nothing left to send. The ended tasks are marked looked-at after.
//
// Which endings refund: completed and cancelled. A failed task keeps what its remaining mints
// need, so that a retry runs without asking for new funding (retryTask refuses when that money is
// gone; many failures are worth a retry: a spent gas budget, a node that was down, a seller that
// was rate-limiting). The wallet view shows it as refundable, so a user who gives up withdraws it
// by hand; a later completed or cancelled task's refund leaves it in place.
// Never refunded: what funded or processing tasks still need, and what an x402 authorization
// could still move (wallet-view.ts); while a task is minting nothing is sent at all (nonces).
// AUTO_REFUND=false keeps everything in the agent wallet until the user withdraws it.

/** `final` false: the wallet is looked at again later (it was busy, or an x402 authorization still reserves part of it). */
export type RefundResult = ({ refunded: true; txHash: Hex; amount: bigint } | { refunded: false; reason: string }) & {
  final: boolean;
};

/** Refunds the wallet's leftover if a task of it ended since the last look. */
export async function refundLeftover(wallet: AgentWallet): Promise<RefundResult> {
  const taskIds = await listUnrefundedTaskIdsByWallet({ agentWalletId: wallet.id });
  if (taskIds.length === 0) return { refunded: false, reason: 'no task ended since the last refund', final: true };
  if (!getConfig().worker.autoRefund) {
    await markTasksRefundChecked({ ids: taskIds });
    return { refunded: false, reason: 'AUTO_REFUND=false keeps it in the agent wallet', final: true };
  }
  // Authorizations past their validBefore by chain time can never move money: they reserve nothing any more.
  await expireDeadAuthorizations(wallet);
  let outcome: RefundOutcome;
  try {
    outcome = await refundToUser(wallet, { keepForRetries: true, lockWaitMs: 2_000 });
  } catch (error) {
    // The gas budget refused the refund's top-up (the user's 24 hours are spent), or the transfer
    // is sent but unconfirmed: a later look finds the budget back, or the transfer mined.
    if (!(error instanceof AppError)) throw error;
    outcome = { refused: 'busy', message: error.message };
  }
  // Counted after the refund, not before it: the refund waited for the wallet's locks, and what
  // still reserves is what the refund (under those locks) kept back.
  const reserving = (await listOpenX402AuthorizationsOfEndedTasks({ agentWalletId: wallet.id })).length;
  const final = reserving === 0 && !('refused' in outcome && outcome.refused !== 'nothing');
  await (final
    ? markTasksRefundChecked({ ids: taskIds, txHash: 'txHash' in outcome ? outcome.txHash : undefined })
    : touchUnrefundedTasks({ ids: taskIds }));
  if ('refused' in outcome) return { refunded: false, reason: outcome.message, final };
  getLogger().info(
    { userAddress: wallet.userAddress, amount: outcome.amount.toString(), txHash: outcome.txHash, tasks: taskIds },
    "a task's unspent USDC refunded to its user",
  );
  return { refunded: true, ...outcome, final };
}

/**
 * Marks expired the open authorizations of the wallet's ended tasks that the chain can no longer
 * accept (its latest block is at or past their validBefore, and they were never used). A used
 * one (settled or cancelled) is left to the x402 reconciler and the audit, and keeps reserving:
 * an under-refund, never a double spend.
 */
async function expireDeadAuthorizations(wallet: AgentWallet): Promise<void> {
  const open = await listOpenX402AuthorizationsOfEndedTasks({ agentWalletId: wallet.id });
  if (open.length === 0) return;
  const client = getPublicClient();
  // The nonce read at the block whose clock says expired: a node a block behind would call a
  // payment settled in it unused.
  const latest = await client.getBlock({ blockTag: 'latest' });
  const now = latest.timestamp;
  const agent = getAddress(wallet.agentAddress);
  const expired: string[] = [];
  for (const row of open) {
    if (now < row.validBefore) continue;
    const used = await isAuthorizationUsedAt(client, row.asset as Address, agent, row.nonce as Hex, latest.number);
    if (!used) expired.push(row.id);
  }
  await resolveX402Payments({
    resolutions: expired.map((id) => ({ id, status: 'expired', error: 'expired unused after its task ended' })),
  });
}
