import { x402Facilitator } from '@x402/core/facilitator';
import type { FacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequirements, SupportedResponse } from '@x402/core/types';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { keccak256, toHex } from 'viem';
import { waitForReceipt } from '@/lib/chain/receipts';
import { serialPerKey, writeInOrder, type ServerWallet } from './chain';

/**
 * An in-process facilitator (the official one from @x402/core + @x402/evm) that verifies and
 * settles on the local chain with a pool of settlement keys, one settlement at a time per key
 * (the settle, with its own verification, runs under serialPerKey). A payment always goes to
 * the same key (chosen from its payer and nonce), so two posts of one payment are settled one
 * after the other and the second finds the authorization used; different payments settle in
 * parallel on different keys, as a hosted facilitator does. Signatures are checked against the
 * asset's own EIP-712 domain (`assetDomain`), as the asset itself checks them on chain, whatever
 * a requirement's `extra` claims (a seller may advertise another).
 */
export function localFacilitator(
  wallets: ServerWallet[],
  network: string,
  timing: { settleMs: number } = { settleMs: 0 },
  assetDomain?: { name: string; version: string },
) {
  const onAsset = (r: PaymentRequirements): PaymentRequirements =>
    assetDomain ? { ...r, extra: { ...r.extra, ...assetDomain } } : r;
  const settlers = wallets.map((wallet) => {
    // Receipts polled at 2, 4, 8… ms (lib/chain/receipts): anvil mines on arrival, and viem's
    // waiter sleeps a whole polling interval first, inside the one-at-a-time settlement lock.
    const waitForTransactionReceipt = ({ hash }: { hash: `0x${string}` }) =>
      waitForReceipt(wallet as never, hash, 30_000);
    // Settlement transactions go out with the key's own nonce, gas and fees (writeInOrder):
    // the key's send queue is held for one signature and one send, not five round trips.
    const writeContract = (args: Parameters<typeof writeInOrder>[1]) =>
      serialPerKey(wallet.account.address, () => writeInOrder(wallet, args));
    const signer = toFacilitatorEvmSigner(
      { ...wallet, address: wallet.account.address, waitForTransactionReceipt, writeContract } as never,
      { confirmationTimeoutMs: 30_000 },
    );
    const facilitator = new x402Facilitator();
    registerExactEvmScheme(facilitator, { signer, networks: network as `${string}:${string}` });
    return { address: wallet.account.address, facilitator };
  });
  const settlerOf = (payload: PaymentPayload) => {
    const auth = (payload.payload as { authorization?: { from?: string; nonce?: string } }).authorization;
    const index = auth ? Number(BigInt(keccak256(toHex(`${auth.from}:${auth.nonce}`))) % BigInt(settlers.length)) : 0;
    return settlers[index]!;
  };
  const client: FacilitatorClient = {
    verify: (payload: PaymentPayload, requirements: PaymentRequirements) =>
      settlerOf(payload).facilitator.verify(payload, onAsset(requirements)),
    settle: async (payload: PaymentPayload, requirements: PaymentRequirements) => {
      const started = performance.now();
      const { address, facilitator } = settlerOf(payload);
      try {
        // One settlement at a time per facilitator key, verification included: two posts of one
        // payment (same key) can never both pass verify before either settles.
        return await serialPerKey(`settle:${address}`, () => facilitator.settle(payload, onAsset(requirements)));
      } finally {
        timing.settleMs += performance.now() - started;
      }
    },
    getSupported: async () => settlers[0]!.facilitator.getSupported() as SupportedResponse,
  };
  return { client, settlerAddresses: settlers.map((s) => s.address) };
}
