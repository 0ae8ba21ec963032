import type { Abi, ContractFunctionArgs, ContractFunctionName, Hex } from 'viem';
import { getOperatorWalletClient } from './clients';

// The operator is one account used by every web process and worker. Within a process its sends
// are queued so two requests never pick the same pending nonce; across processes a clash shows
// up as a nonce error and is retried with a fresh nonce.
let queue: Promise<unknown> = Promise.resolve();

function serialised<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
}

const NONCE_CLASH = /nonce too low|nonce has already been used|replacement transaction underpriced/i;

/** Broadcasts a contract call from the operator; resolves with the hash once the node has it. */
export function sendOperatorWrite<const A extends Abi, F extends ContractFunctionName<A, 'nonpayable' | 'payable'>>(request: {
  address: `0x${string}`;
  abi: A;
  functionName: F;
  args: ContractFunctionArgs<A, 'nonpayable' | 'payable', F>;
}): Promise<Hex> {
  return serialised(async () => {
    const client = getOperatorWalletClient();
    for (let attempt = 1; ; attempt++) {
      try {
        return await client.writeContract(request as never);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (attempt >= 3 || !NONCE_CLASH.test(message)) throw error;
      }
    }
  });
}
