import { x402Facilitator } from '@x402/core/facilitator';
import type { FacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequirements, SupportedResponse } from '@x402/core/types';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { waitForReceipt } from '@/lib/chain/receipts';
import { serialPerKey, writeInOrder, type ServerWallet } from './chain';

/**
 * An in-process facilitator (the official one from @x402/core + @x402/evm) that verifies and
 * settles on the local chain with the server's own key, one settlement at a time per key (the
 * settle, with its own verification, runs under serialPerKey); its transactions, and the
 * server's mints, share the key's nonce order under a second, inner queue.
 */
export function localFacilitator(wallet: ServerWallet, network: string, timing: { settleMs: number } = { settleMs: 0 }) {
  // Receipts polled at 2, 4, 8… ms (lib/chain/receipts): anvil mines on arrival, and viem's
  // waiter sleeps a whole polling interval first, inside the one-at-a-time settlement lock.
  const waitForTransactionReceipt = ({ hash }: { hash: `0x${string}` }) => waitForReceipt(wallet as never, hash, 30_000);
  // Settlement transactions go out with the server's own nonce, gas and fees (writeInOrder):
  // the key's send queue is held for one signature and one send, not five round trips.
  const writeContract = (args: Parameters<typeof writeInOrder>[1]) => serialPerKey(wallet.account.address, () => writeInOrder(wallet, args));
  const signer = toFacilitatorEvmSigner({ ...wallet, address: wallet.account.address, waitForTransactionReceipt, writeContract } as never, { confirmationTimeoutMs: 30_000 });
  const facilitator = new x402Facilitator();
  registerExactEvmScheme(facilitator, { signer, networks: network as `${string}:${string}` });
  const client: FacilitatorClient = {
    verify: (payload: PaymentPayload, requirements: PaymentRequirements) => facilitator.verify(payload, requirements),
    settle: async (payload: PaymentPayload, requirements: PaymentRequirements) => {
      const started = performance.now();
      try {
        // One settlement at a time per facilitator key, verification included: two posts of one
        // payment can never both pass verify before either settles (the design's rule).
        return await serialPerKey(`settle:${wallet.account.address}`, () => facilitator.settle(payload, requirements));
      } finally {
        timing.settleMs += performance.now() - started;
      }
    },
    getSupported: async () => facilitator.getSupported() as SupportedResponse,
  };
  return { facilitator, client };
}
