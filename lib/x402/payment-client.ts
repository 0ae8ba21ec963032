import { x402Client } from '@x402/core/client';
import type { PaymentRequirements } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import type { LocalAccount } from 'viem';

export type PaymentClientLimits = {
  /** CAIP-2 network the payment must be on (v1 names are mapped by the library). */
  network: `${string}:${string}`;
  asset: string;
  /** The one amount this client may pay per request, in base units. */
  amount: bigint;
  /** EIP-712 domain of the asset as read on chain: what every payment is signed for, whatever `extra` names. */
  domain: { name: string; version: string };
};

/**
 * An official x402 client (@x402/core + @x402/evm, EIP-3009 `exact`) that can pay exactly one
 * thing: the given asset on the given network, at most `amount` per request. Spend controls
 * allow only this asset (the library otherwise knows only well-known assets and caps them at
 * $1); a policy drops every other requirement and sets the EIP-712 name and version to the
 * asset's own: the library signs what `extra` says (and refuses without it), and a seller's
 * `extra` may name a domain the asset does not have, making every signature worthless.
 */
export function createPaymentClient(account: LocalAccount, limits: PaymentClientLimits) {
  const client = new x402Client();
  registerExactEvmScheme(client, {
    signer: toClientEvmSigner(account),
    networks: [limits.network],
    policies: [
      (_version, requirements) =>
        requirements.filter((r) => matches(r, limits)).map((r) => withDomain(r, limits.domain)),
    ],
  });
  // v1 requirements name their network (`base-sepolia`): allow the asset under those names too.
  const chainId = Number(limits.network.split(':')[1]);
  const v1Names = Object.entries(EVM_NETWORK_CHAIN_ID_MAP)
    .filter(([, id]) => id === chainId)
    .map(([name]) => name);
  const allowedAssets = [limits.network, ...v1Names].map((network) => ({
    network: network as `${string}:${string}`,
    asset: limits.asset,
    maxAmountPerPayment: limits.amount.toString(),
  }));
  client.setSpendControls({ maxAmountPerPayment: false, allowedAssets });
  return client;
}

function amountOf(r: PaymentRequirements): bigint {
  const v1 = (r as unknown as { maxAmountRequired?: string }).maxAmountRequired;
  return BigInt(r.amount ?? v1 ?? '0');
}

function matches(r: PaymentRequirements, limits: PaymentClientLimits) {
  return r.scheme === 'exact' && r.asset.toLowerCase() === limits.asset.toLowerCase() && amountOf(r) <= limits.amount;
}

function withDomain(r: PaymentRequirements, domain: { name: string; version: string }): PaymentRequirements {
  return { ...r, extra: { ...r.extra, name: domain.name, version: domain.version } };
}
