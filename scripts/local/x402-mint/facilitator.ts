import { x402Facilitator } from '@x402/core/facilitator';
import type { FacilitatorClient } from '@x402/core/server';
import type { PaymentPayload, PaymentRequirements, SupportedResponse } from '@x402/core/types';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/facilitator';
import { serialPerKey, type ServerWallet } from './chain';

/**
 * An in-process facilitator (the official one from @x402/core + @x402/evm) that verifies and
 * settles on the local chain with the server's own key. Settlements go one at a time per key
 * (see serialPerKey), so two requests carrying one authorization can never both settle it.
 */
export function localFacilitator(wallet: ServerWallet, network: string) {
  const signer = toFacilitatorEvmSigner({ ...wallet, address: wallet.account.address } as never, { confirmationTimeoutMs: 30_000 });
  const facilitator = new x402Facilitator();
  registerExactEvmScheme(facilitator, { signer, networks: network as `${string}:${string}` });
  const key = wallet.account.address;
  const client: FacilitatorClient = {
    verify: (payload: PaymentPayload, requirements: PaymentRequirements) => facilitator.verify(payload, requirements),
    settle: (payload: PaymentPayload, requirements: PaymentRequirements) => serialPerKey(key, () => facilitator.settle(payload, requirements)),
    getSupported: async () => facilitator.getSupported() as SupportedResponse,
  };
  return { facilitator, client };
}
