import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hex, PublicClient } from 'viem';
import { getSql } from '@/db/client';
import { leasedTaskQuery } from '@/db/mint-records';
import { getOperatorAccount, getOperatorWalletClient, getPublicClient } from './clients';

// The operator is one account used by every web process and worker (funding transfers, gas
// top-ups, x402 cancels). Two of its transactions with one nonce would not both happen: the
// node keeps one, or replaces the first with the second if it pays 10% more. So every send
// takes the operator's nonce under one lock for all processes, a Postgres advisory lock held by
// a short transaction (the database is the one thing they all share; a transaction lets go of
// it on commit, rollback, or a lost connection alike), and reads the node's pending count inside
// it: the last holder's transaction is in the pool by then, so the count includes it. A
// transaction that is later dropped leaves no gap: the count moves back with it. Holders only
// sign and broadcast (receipts are awaited after the lock), and within a process a queue keeps
// waiters to one connection instead of one each.

const OPERATOR_LOCK_SPACE = 2200; // first key of the two-int advisory lock (gas budgets 2100, funding 3009)

let queue: Promise<unknown> = Promise.resolve();

function serialised<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
}

const NONCE_CLASH = /nonce too low|nonce has already been used|replacement transaction underpriced/i;

/**
 * A task's lease for the lock's statement to check on its way (worker/fence.ts): the check a
 * worker makes right before it sends, without a statement of its own. `checked` hears how long
 * the lease still runs (ms), or undefined when the worker no longer holds it.
 */
export type LeaseCheck = { taskId: string; workerId: string; checked: (leaseMs: number | undefined) => void };

/**
 * Runs `send` as the only operator sender, in this process and every other, with the operator's
 * next nonce. `send` may use `nonce`, `nonce + 1`, … for transactions it broadcasts in order.
 * When the first broadcast meets a nonce clash (a sender that bypassed the lock) `send` runs
 * again with a fresh nonce, so it must catch errors of any later broadcast itself.
 *
 * `lease`, asked for once this process's turn comes, is a lease to check in the lock's statement
 * (none: the lock alone); `send` still decides what to do about it.
 */
export function withOperatorNonce<T>(
  send: (nonce: number) => Promise<T>,
  client: PublicClient = getPublicClient(),
  { lease }: { lease?: () => LeaseCheck | undefined } = {},
): Promise<T> {
  const operator = getOperatorAccount().address;
  return serialised(async () => {
    let sent: { value: T } | undefined;
    try {
      await getSql().begin(async (tx) => {
        const check = lease?.();
        const lock = tx`select pg_advisory_xact_lock(${OPERATOR_LOCK_SPACE}, hashtext(${operator.toLowerCase()}))`;
        if (check) {
          // Read in the lock statement's snapshot, so maybe before its wait: as the check after the
          // lock did, it counts the lease from the transaction's start (now()), and a lease can
          // pass to another worker only once it has run out.
          const [row] = await tx<{ lease_ms: number | null }[]>`select held.lease_ms from (${lock}) locked
            left join lateral (${leasedTaskQuery(check)}) held on true`;
          check.checked(row?.lease_ms ?? undefined);
        } else await lock;
        for (let attempt = 1; ; attempt++) {
          const nonce = await client.getTransactionCount({ address: operator, blockTag: 'pending' });
          try {
            sent = { value: await send(nonce) };
            return;
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            if (attempt >= 3 || !NONCE_CLASH.test(message)) throw error;
          }
        }
      });
    } catch (error) {
      // Sent, and only the commit failed: the database went away, which let go of the lock too.
      if (sent) return sent.value;
      throw error;
    }
    return sent!.value;
  });
}

export type OperatorWrite<A extends Abi, F extends ContractFunctionName<A, 'nonpayable' | 'payable'>> = {
  address: Address;
  abi: A;
  functionName: F;
  args: ContractFunctionArgs<A, 'nonpayable' | 'payable', F>;
};

/** Broadcasts a contract call from the operator with the given nonce; resolves with the hash once the node has it. */
export function writeAsOperator<const A extends Abi, F extends ContractFunctionName<A, 'nonpayable' | 'payable'>>(
  request: OperatorWrite<A, F>,
  nonce: number,
): Promise<Hex> {
  return getOperatorWalletClient().writeContract({ ...request, nonce } as never);
}

/** Broadcasts a contract call from the operator under the operator's nonce lock. */
export function sendOperatorWrite<const A extends Abi, F extends ContractFunctionName<A, 'nonpayable' | 'payable'>>(
  request: OperatorWrite<A, F>,
): Promise<Hex> {
  return withOperatorNonce((nonce) => writeAsOperator(request, nonce));
}
