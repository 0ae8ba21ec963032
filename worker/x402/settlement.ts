import type { Address, Hex } from 'viem';
import { returnX402OperatorCancel, takeX402OperatorCancel } from '@/db/x402-task-state';
import type { X402PaymentRow } from '@/db/x402-payments';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { findAuthorizationOutcome, isAuthorizationUsedAt, movedExactly, type Authorization } from '@/lib/chain/eip3009';
import { quoteFees } from '@/lib/chain/fees';
import { sendOperatorWrite } from '@/lib/chain/operator-send';
import { waitForReceipt } from '@/lib/chain/receipts';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { getLogger } from '@/lib/log';
import { reserveTopUp, sendReservedTopUp } from '@/lib/wallets/gas-topup';
import type { X402Runtime } from './runtime';

// The chain is the judge of whether a payment moved money: `authorizationState(agent, nonce)` is
// true once the authorization was used or cancelled, and the AuthorizationUsed event (with its
// exact Transfer) or the AuthorizationCanceled event tells which. Whatever an endpoint answered,
// this is what the ledger records. Every read of one verdict is made at one block number: behind
// a load-balanced RPC (or anvil while it stores the newest block, see worker/contract/
// mint-collector.ts) the state can come from block B and the logs from a node at B-1, and
// "used, no transfer" read that way once closed a payment the seller was paid for as cancelled,
// and the mint was bought again. A payment is cancelled only on evidence (its cancel log, or our
// own cancel's receipt); used without either log at B, it stays open and is looked at again
// (`unproven`, bounded by UNPROVEN_GRACE_SECONDS in reconcileOpenPayments). Whether an unused
// authorization can still be used is the chain's call too: EIP-3009 requires block.timestamp <
// validBefore, so it is dead once the latest block's timestamp reached it (blocks only move
// forward in time), never by the worker's clock (a lagging chain would still accept it).

export type ChainVerdict =
  | { state: 'settled'; txHash: Hex | undefined }
  | { state: 'cancelled' }
  /** Used, but neither its transfer nor its cancel is in the logs up to that block yet: never re-sent, looked at again. */
  | { state: 'unproven' }
  | { state: 'unused' };

/**
 * How long (chain time, past its validBefore) a used authorization may stay `unproven` before it
 * is counted as paid: it was used before its validBefore (EIP-3009), so by then its log is minutes
 * deep and a node that still returns none will not. Counted as paid, its mint is never bought
 * again (counted as not paid, it could be bought twice). Were it in fact our own cancel, no money
 * is lost: refunds go by the agent's balance on chain, so its USDC goes back with the task's
 * leftover, and the audit shows the settled row that has no transfer.
 */
export const UNPROVEN_GRACE_SECONDS = 300n;

const asAuthorization = (row: X402PaymentRow): Authorization => {
  const { authorization } = row;
  return {
    from: authorization.from as Address,
    to: authorization.to as Address,
    value: BigInt(authorization.value!),
    validAfter: BigInt(authorization.validAfter!),
    validBefore: BigInt(authorization.validBefore!),
    nonce: authorization.nonce as Hex,
  };
};

/**
 * What the chain says about one payment as of block `atBlock` (the latest block when not given).
 * `claimedTx` (the seller's settlement header) is data, not proof: it is used only when that
 * transaction really moved this authorization's money.
 */
export async function chainVerdict(
  rt: X402Runtime,
  row: X402PaymentRow,
  claimedTx?: string,
  atBlock?: bigint,
): Promise<ChainVerdict> {
  // Not the client's cached block number: the settlement may be in the block just mined.
  const block = atBlock ?? (await rt.client.getBlockNumber({ cacheTime: 0 }));
  const asset = rt.terms.requirement.asset as Address;
  if (!(await isAuthorizationUsedAt(rt.client, asset, rt.policy.agent, row.nonce as Hex, block)))
    return { state: 'unused' };
  const authorization = asAuthorization(row);
  if (claimedTx && (await movedExactly(claimedTx as Hex, authorization, rt.client).catch(() => false)))
    return { state: 'settled', txHash: claimedTx as Hex };
  const outcome = await findAuthorizationOutcome({
    authorization,
    since: row.createdAt,
    atBlock: block,
    client: rt.client,
  });
  if (outcome?.kind === 'transferred') return { state: 'settled', txHash: outcome.txHash };
  if (outcome?.kind === 'cancelled') return { state: 'cancelled' };
  return { state: 'unproven' };
}

/** The latest block's number and timestamp (seconds): the clock EIP-3009 validity is judged by. */
export async function chainNow(rt: X402Runtime): Promise<{ block: bigint; time: bigint }> {
  const latest = await rt.client.getBlock({ blockTag: 'latest' });
  return { block: latest.number, time: latest.timestamp };
}

/** Whether an unused authorization can never be used any more, by chain time. */
export function expiredAt(row: Pick<X402PaymentRow, 'authorization'>, chainTime: bigint): boolean {
  return chainTime >= BigInt(row.authorization.validBefore!);
}

/** Whether a used authorization has been `unproven` past UNPROVEN_GRACE_SECONDS, by chain time. */
export function unprovenTooLong(row: Pick<X402PaymentRow, 'authorization'>, chainTime: bigint): boolean {
  return chainTime >= BigInt(row.authorization.validBefore!) + UNPROVEN_GRACE_SECONDS;
}

/** Gas a cancelAuthorization is budgeted at (it uses ~50k on anvil and Circle's USDC). */
const CANCEL_GAS = 100_000n;

/**
 * Makes an unused authorization unusable: the agent signs CancelAuthorization and the operator
 * submits it (the agent needs no gas). The operator's gas is bounded twice over: at most
 * X402_MAX_CANCELS_PER_TASK cancels over the task's whole life (retries included), each counted
 * against the task's and the user's gas budgets (AGENT_MAX_TOPUP_PER_TASK_ETH,
 * USER_MAX_TOPUP_PER_DAY_ETH, recorded in agent_gas_topups like a top-up). Returns undefined
 * when neither allows one: the authorization is then left to expire. If the endpoint settles it
 * first, the cancel reverts and the chain's verdict decides (settled, or unproven until its log
 * is seen).
 */
export async function cancelOnChain(rt: X402Runtime, row: X402PaymentRow): Promise<ChainVerdict | undefined> {
  if (!(await takeX402OperatorCancel({ taskId: rt.task.id, max: getConfig().x402.maxCancelsPerTask })))
    return undefined;
  let reservation;
  try {
    const fees = await quoteFees(rt.client, { maxFeeGwei: getConfig().worker.maxFeeGwei });
    reservation = await reserveTopUp({
      userAddress: rt.task.userAddress,
      taskId: rt.task.id,
      agent: rt.policy.agent,
      amountWei: CANCEL_GAS * fees.maxFeePerGas,
      balance: 0n,
    });
  } catch (error) {
    await returnX402OperatorCancel({ taskId: rt.task.id });
    if (error instanceof MintRevertError) {
      getLogger().warn(
        { taskId: rt.task.id, nonce: row.nonce },
        'x402 cancel refused by the gas budget; left to expire',
      );
      return undefined;
    }
    throw error;
  }
  const signature = await rt.signer!.signCancel(row.nonce as Hex, {
    chainId: rt.chainId,
    verifyingContract: rt.terms.requirement.asset as Address,
  });
  try {
    // Under the operator's nonce lock: funding transfers and gas top-ups share this key.
    const hash = await sendReservedTopUp(reservation, () =>
      sendOperatorWrite({
        address: rt.terms.requirement.asset as Address,
        abi: testUSDCAbi,
        functionName: 'cancelAuthorization',
        args: [rt.policy.agent, row.nonce as Hex, signature],
      }),
    );
    const receipt = await waitForReceipt(rt.client, hash, getConfig().worker.receiptTimeoutMs);
    if (receipt.status === 'success') return { state: 'cancelled' };
  } catch (error) {
    // "authorization is used or canceled" (the node's estimate reverted, nothing was sent):
    // the count and the gas budget are given back, and the chain's verdict decides.
    if (!/used or canceled|execution reverted/i.test(String((error as Error).message))) throw error;
    await returnX402OperatorCancel({ taskId: rt.task.id });
  }
  const verdict = await chainVerdict(rt, row);
  if (verdict.state === 'unused') throw new Error(`cancelAuthorization of ${row.nonce} did not take effect`);
  return verdict;
}
