import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import type { PaymentRequired } from '@x402/core/types';
import { AppError } from '../errors';
import { HEX_ADDRESS } from '../hex';

// Which of an endpoint's payment requirements AgentMint can pay: the `exact` scheme (EIP-3009
// transferWithAuthorization), on the configured chain, in the configured USDC, at or below the
// operator's price cap. Pure, so every refusal is tested without an endpoint.

/** The chain id a requirement's network names: CAIP-2 `eip155:<id>` (v2), or a v1 name from the official table. */
export function chainIdOfNetwork(network: string): number | undefined {
  const caip = network.match(/^eip155:(\d+)$/);
  if (caip) return Number(caip[1]);
  return Object.hasOwn(EVM_NETWORK_CHAIN_ID_MAP, network)
    ? (EVM_NETWORK_CHAIN_ID_MAP as Record<string, number>)[network]
    : undefined;
}

export type RawRequirement = {
  scheme: string;
  network: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  /** v2 `amount`, or v1 `maxAmountRequired`. */
  amount: string;
  resource?: string;
  extra?: Record<string, unknown>;
  outputSchema?: unknown;
  description?: string;
};

/** Both protocol versions in one shape (v1 names the amount `maxAmountRequired`, and its resource per requirement). */
export function normaliseRequirements(paymentRequired: PaymentRequired): {
  version: 1 | 2;
  requirements: RawRequirement[];
} {
  const version = paymentRequired.x402Version === 1 ? 1 : 2;
  const accepts = Array.isArray(paymentRequired.accepts) ? paymentRequired.accepts : [];
  const requirements = accepts.map((raw) => {
    const fields = raw as unknown as Record<string, unknown>;
    return {
      scheme: String(fields.scheme ?? ''),
      network: String(fields.network ?? ''),
      asset: String(fields.asset ?? ''),
      payTo: String(fields.payTo ?? ''),
      maxTimeoutSeconds: Number(fields.maxTimeoutSeconds ?? 0),
      amount: String(fields.amount ?? fields.maxAmountRequired ?? ''),
      resource: typeof fields.resource === 'string' ? fields.resource : paymentRequired.resource?.url,
      extra: fields.extra && typeof fields.extra === 'object' ? (fields.extra as Record<string, unknown>) : undefined,
      outputSchema: fields.outputSchema,
      description: typeof fields.description === 'string' ? fields.description : paymentRequired.resource?.description,
    };
  });
  return { version, requirements };
}

export type Mismatch = 'scheme' | 'network' | 'asset' | 'amount' | 'malformed';

export type SelectionTarget = {
  chainId: number;
  usdc: string;
  maxAmount: bigint;
  networkLabel: string;
  usdcLabel?: string;
};

const refuse = (reason: string, message: string, details: Record<string, unknown> = {}) =>
  new AppError('bad_request:x402', message, { details: { reason, ...details } });

/**
 * The requirement to pay, or a refusal naming the first thing every offer got wrong (in the
 * order scheme → network → asset → price: the closest offer decides the message).
 */
export function selectRequirement(requirements: RawRequirement[], target: SelectionTarget): RawRequirement {
  if (!requirements.length)
    throw refuse('no_requirement', 'The endpoint answered 402 but offered no way to pay.', { mismatch: 'scheme' });
  const offers = requirements.map((r) => ({ r, miss: mismatchOf(r, target) }));
  const fit = offers.find((o) => o.miss === undefined);
  if (fit) return fit.r;
  const rank: Mismatch[] = ['amount', 'malformed', 'asset', 'network', 'scheme'];
  const closest = offers.sort((a, b) => rank.indexOf(a.miss!) - rank.indexOf(b.miss!))[0]!;
  const { r, miss } = closest;
  switch (miss) {
    case 'amount': {
      const amount = BigInt(r.amount);
      throw refuse(
        'price_too_high',
        `The endpoint asks ${amount} USDC base units per mint, above this service's limit of ${target.maxAmount} (X402_MAX_PRICE_PER_MINT).`,
        {
          amount: amount.toString(),
          max: target.maxAmount.toString(),
        },
      );
    }
    case 'malformed':
      throw refuse('no_requirement', 'The endpoint’s payment offer is malformed (amount or payee).', {
        mismatch: 'malformed',
      });
    case 'asset':
      throw refuse(
        'no_requirement',
        `The endpoint wants payment in ${r.asset}, not in the USDC this service uses (${target.usdc}).`,
        { mismatch: 'asset', asset: r.asset },
      );
    case 'network':
      throw refuse(
        'no_requirement',
        `The endpoint wants payment on ${r.network}, not on ${target.networkLabel} (chain ${target.chainId}).`,
        {
          mismatch: 'network',
          network: r.network,
        },
      );
    default:
      throw refuse(
        'no_requirement',
        `The endpoint offers only the ${requirements.map((x) => x.scheme || '?').join(', ')} payment scheme; this service pays with "exact" (EIP-3009) only.`,
        {
          mismatch: 'scheme',
        },
      );
  }
}

function mismatchOf(r: RawRequirement, target: SelectionTarget): Mismatch | undefined {
  if (r.scheme !== 'exact') return 'scheme';
  if (chainIdOfNetwork(r.network) !== target.chainId) return 'network';
  if (r.asset.toLowerCase() !== target.usdc.toLowerCase()) return 'asset';
  if (!/^\d+$/.test(r.amount) || BigInt(r.amount) === 0n || !HEX_ADDRESS.test(r.payTo)) return 'malformed';
  if (BigInt(r.amount) > target.maxAmount) return 'amount';
  return undefined;
}
