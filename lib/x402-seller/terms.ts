import { declarePaymentIdentifierExtension, PAYMENT_IDENTIFIER } from '@x402/extensions/payment-identifier';
import type { PaymentRequired, PaymentRequiredV1, PaymentRequirements, PaymentRequirementsV1 } from '@x402/core/types';
import { formatUnits, getAddress, type Address } from 'viem';
import { getKnownContracts } from '../chain/clients';
import { getUsdcDomain } from '../chain/usdc';
import type { MintQuote } from '../tasks/quote';
import { bazaarDeclaration, v1OutputSchema } from './discovery';
import { MAX_TIMEOUT_SECONDS, mintResourceUrl, saleNetwork, saleNetworkV1 } from './resource';

// What AgentMint asks an x402 buyer to pay for a mint task: one `exact` (EIP-3009) requirement
// for the task's whole cost in the configured USDC, paid to the payer's own agent wallet, so the
// payment is the task's funding authorization and nothing passes through AgentMint.

const MIME_TYPE = 'application/json';

export type SalePrice = { quote: MintQuote; payTo: Address };

/** The 402's requirement: the whole task in one `exact` payment to the payer's agent wallet. */
export async function saleRequirement({ quote, payTo }: SalePrice): Promise<PaymentRequirements> {
  const { name, version } = await getUsdcDomain();
  return {
    scheme: 'exact',
    network: saleNetwork(),
    asset: getAddress(getKnownContracts().usdc),
    amount: quote.totalCost.toString(),
    payTo: getAddress(payTo),
    maxTimeoutSeconds: MAX_TIMEOUT_SECONDS,
    // The EIP-712 domain of the asset, read from the chain: what the signature must be made over.
    extra: { name, version },
  };
}

function describe({ quote }: SalePrice) {
  const each = formatUnits(quote.pricePerMint, 6);
  const total = formatUnits(quote.totalCost, 6);
  return `A mint task: ${quote.quantity} × ${quote.token.symbol} (${quote.token.address}) at ${each} USDC each, ${total} USDC in all, paid into your own AgentMint agent wallet, which runs the mints for you.`;
}

/**
 * The unpaid answer in both protocol versions: v2 in the PAYMENT-REQUIRED header (with the
 * `payment-identifier` and `bazaar` extensions), v1 as the JSON body. `error` says why a payment
 * sent with the request was refused.
 */
export async function paymentRequiredFor(
  price: SalePrice,
  error = 'Payment required',
): Promise<{ v2: PaymentRequired; v1: PaymentRequiredV1 }> {
  const requirement = await saleRequirement(price);
  const description = describe(price);
  const resource = mintResourceUrl();
  const v2: PaymentRequired = {
    x402Version: 2,
    error,
    resource: { url: resource, description, mimeType: MIME_TYPE, serviceName: 'AgentMint' },
    accepts: [requirement],
    extensions: { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(false), ...bazaarDeclaration() },
  };
  const { amount, ...rest } = requirement;
  const v1Requirement: PaymentRequirementsV1 = {
    ...rest,
    network: saleNetworkV1() as PaymentRequirementsV1['network'],
    maxAmountRequired: amount,
    resource,
    description,
    mimeType: MIME_TYPE,
    outputSchema: v1OutputSchema(),
  };
  return { v2, v1: { x402Version: 1, error, accepts: [v1Requirement] } };
}
