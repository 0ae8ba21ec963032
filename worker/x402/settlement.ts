import type { Address, Hex } from 'viem';
import type { X402PaymentRow } from '@/db/x402-payments';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { findAuthorizationTransfer, type Authorization } from '@/lib/chain/eip3009';
import { sendOperatorWrite } from '@/lib/chain/operator-send';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import type { X402Runtime } from './runtime';

// The chain is the judge of whether a payment moved money: `authorizationState(agent, nonce)` is
// true once the authorization was used or cancelled, and the AuthorizationUsed event (with its
// exact Transfer) tells which. Whatever an endpoint answered, this is what the ledger records.

export type ChainVerdict = { state: 'settled'; txHash: Hex | undefined } | { state: 'cancelled' } | { state: 'unused' };

const asAuthorization = (row: X402PaymentRow): Authorization => {
  const a = row.authorization;
  return {
    from: a.from as Address,
    to: a.to as Address,
    value: BigInt(a.value!),
    validAfter: BigInt(a.validAfter!),
    validBefore: BigInt(a.validBefore!),
    nonce: a.nonce as Hex,
  };
};

export async function isAuthorizationUsed(rt: X402Runtime, nonce: string): Promise<boolean> {
  return rt.client.readContract({
    address: rt.terms.requirement.asset as Address,
    abi: testUSDCAbi,
    functionName: 'authorizationState',
    args: [rt.policy.agent, nonce as Hex],
  });
}

/** What the chain says about one payment; `knownTx` (from the endpoint's header) skips the log search. */
export async function chainVerdict(rt: X402Runtime, row: X402PaymentRow, knownTx?: string): Promise<ChainVerdict> {
  if (!(await isAuthorizationUsed(rt, row.nonce))) return { state: 'unused' };
  if (knownTx) return { state: 'settled', txHash: knownTx as Hex };
  const txHash = await findAuthorizationTransfer({ authorization: asAuthorization(row), since: row.createdAt });
  // Used without an AuthorizationUsed transfer to the payee: only our own cancelAuthorization does that.
  return txHash ? { state: 'settled', txHash } : { state: 'cancelled' };
}

/**
 * Makes an unused authorization unusable before a new one is signed for its mint: the agent
 * signs CancelAuthorization and the operator submits it (the agent needs no gas). If the
 * endpoint settles it first, the cancel reverts and the payment counts as settled.
 */
export async function cancelOnChain(rt: X402Runtime, row: X402PaymentRow): Promise<ChainVerdict> {
  const signature = await rt.signer!.signCancel(row.nonce as Hex, {
    chainId: rt.chainId,
    verifyingContract: rt.terms.requirement.asset as Address,
  });
  try {
    // Under the operator's nonce lock: funding transfers and gas top-ups share this key.
    const hash = await sendOperatorWrite({
      address: rt.terms.requirement.asset as Address,
      abi: testUSDCAbi,
      functionName: 'cancelAuthorization',
      args: [rt.policy.agent, row.nonce as Hex, signature],
    });
    const receipt = await waitForReceipt(rt.client, hash, getConfig().worker.receiptTimeoutMs);
    if (receipt.status === 'success') return { state: 'cancelled' };
  } catch (error) {
    // "authorization is used or canceled": fall through to the chain's verdict.
    if (!/used or canceled|execution reverted/i.test(String((error as Error).message))) throw error;
  }
  const verdict = await chainVerdict(rt, row);
  if (verdict.state === 'unused') throw new Error(`cancelAuthorization of ${row.nonce} did not take effect`);
  return verdict;
}

/** Seconds until the authorization expires (negative: expired). */
export function secondsLeft(row: X402PaymentRow): number {
  return Math.floor((row.validBefore.getTime() - Date.now()) / 1000);
}
