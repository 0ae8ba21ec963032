import type { Hex } from 'viem';
import { mintIdOf } from '@/lib/chain/mint-id';
import { encodeMintCall } from '@/lib/chain/mint-signature';
import { keccak } from '@/lib/chain/native-crypto';
import type { Authorization, TaskRuntime } from './runtime';

// The mint signer's authorizations (PaidMintToken's EIP-712 `Mint(payer, to, mintId)`), one per
// mint, for both ways of executing, minting to the task's recipient (its user unless an x402
// sale named another). Each depends only on payer, recipient and mintId, so it can be
// signed ahead, and one signed for a mint that is then re-signed stays valid for its mintId.

async function signAuthorization(rt: TaskRuntime, mintId: Hex): Promise<Authorization> {
  const to = rt.task.recipient;
  const signature = await rt.authorizer.sign({ payer: rt.task.agentAddress, to, mintId });
  const { v, r, s } = signature;
  return {
    mintId,
    args: [to, mintId, v, r, s] as const,
    data: encodeMintCall(to, mintId, signature),
  };
}

/**
 * The authorization for this mint of the task: the one signed ahead if there is one, else signed
 * now. Looked up by sequence number, so a presigned mint's id is hashed once, not again here.
 */
export async function authorize(rt: TaskRuntime, sequenceNumber: number): Promise<Authorization> {
  const ready = rt.presigned?.get(sequenceNumber);
  rt.presigned?.delete(sequenceNumber);
  return ready ?? signAuthorization(rt, mintIdOf(rt.task.id, sequenceNumber, keccak));
}

/**
 * Signs the next batch's mint authorizations while this batch's receipts and ledger update are
 * on the wire: the CPU is otherwise idle then, and these signatures were ~30% of a batch's time
 * on anvil. A guess that turns out wrong (a mint failed and is re-signed first) costs nothing:
 * an authorization stays valid for its mintId whenever it is used.
 */
export async function presignNext(rt: TaskRuntime, sequences: number[]) {
  const from = Math.max(...sequences) + 1;
  const to = Math.min(rt.task.quantity, from + sequences.length - 1);
  await presign(
    rt,
    Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i),
  );
}

/** Signs these mints' authorizations ahead, for a batch to pick up (the executor does this while a top-up or approval is mined). */
export async function presign(rt: TaskRuntime, sequences: number[]) {
  // Four batches' worth at most: more means the guesses went unused (mints re-signed out of order).
  if (!rt.presigned || rt.presigned.size > 4 * sequences.length) rt.presigned = new Map();
  for (const seq of sequences) {
    if (!rt.presigned.has(seq)) rt.presigned.set(seq, await signAuthorization(rt, mintIdOf(rt.task.id, seq, keccak)));
  }
}
