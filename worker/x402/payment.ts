import type { PaymentPayload, PaymentRequired } from '@x402/core/types';
import {
  appendPaymentIdentifierToExtensions,
  declarePaymentIdentifierExtension,
  PAYMENT_IDENTIFIER,
} from '@x402/extensions/payment-identifier';
import type { X402Terms } from '@/db/schema';
import type { NewX402Payment, X402PaymentRow } from '@/db/x402-payments';
import { checkX402Payment, type PaymentAuthorization } from '@/lib/wallets/payment-guard';
import type { X402Runtime } from './runtime';

// A payment is signed once (by the official client, through the guard) and from then on is
// only its ledger row: the request header is rebuilt from the row, byte for byte the same on
// every (re-)send, so a re-sent payment can never be a second payment.

const withDomain = (terms: X402Terms) => {
  const extra = terms.requirement.extra ?? {};
  return typeof extra.name === 'string' && typeof extra.version === 'string' ? extra : { ...extra, ...terms.domain };
};

/** What a request for `units` mints costs: the probed price of one × units (a seller that prices a quantity). */
const amountFor = (terms: X402Terms, units: number) => (BigInt(terms.requirement.amount) * BigInt(units)).toString();

/** The 402 the endpoint answers for a request of `units` mints (as probed), as the official client reads it. */
export function paymentRequiredOf(terms: X402Terms, units = 1): PaymentRequired {
  const { requirement } = terms;
  if (terms.version === 1) {
    const accepts = [
      {
        scheme: requirement.scheme,
        network: requirement.network,
        maxAmountRequired: amountFor(terms, units),
        resource: requirement.resource ?? terms.url,
        description: '',
        mimeType: 'application/json',
        payTo: requirement.payTo,
        maxTimeoutSeconds: requirement.maxTimeoutSeconds,
        asset: requirement.asset,
        extra: withDomain(terms),
      },
    ];
    return { x402Version: 1, accepts } as unknown as PaymentRequired;
  }
  return {
    x402Version: 2,
    resource: { url: requirement.resource ?? terms.url },
    accepts: [acceptedOf(terms, units)],
  } as PaymentRequired;
}

/** The v2 `accepted` echo: exactly the core fields the endpoint advertises for the request (its match is deep-equal). */
function acceptedOf(terms: X402Terms, units: number) {
  const { requirement } = terms;
  return {
    scheme: requirement.scheme,
    network: requirement.network as `${string}:${string}`,
    asset: requirement.asset,
    amount: amountFor(terms, units),
    payTo: requirement.payTo,
    maxTimeoutSeconds: requirement.maxTimeoutSeconds,
    extra: withDomain(terms),
  };
}

type PaidRow = Pick<X402PaymentRow, 'sequenceNumber' | 'units' | 'authorization' | 'signature'>;

/**
 * The payment-identifier of a purchase (@x402/extensions): derived from the task, the first mint
 * it buys and (where more than one) how many, so every (re-)send of that payment names the same
 * purchase, and a seller that honours the extension serves it once; a purchase of other mints
 * never shares an id with it.
 */
export function paymentIdOf(taskId: string, sequenceNumber: number, units = 1): string {
  return `agentmint_${taskId.replace(/-/g, '')}_${sequenceNumber}${units > 1 ? `x${units}` : ''}`;
}

/** The payload a ledger row stands for. */
export function paymentPayloadOf(terms: X402Terms, row: PaidRow, taskId: string): PaymentPayload {
  const payload = { authorization: row.authorization, signature: row.signature };
  if (terms.version === 1)
    return {
      x402Version: 1,
      scheme: terms.requirement.scheme,
      network: terms.requirement.network,
      payload,
    } as unknown as PaymentPayload;
  // Only where the seller's 402 declared the extension: an extension it does not know is noise.
  const identified = terms.paymentIdentifier
    ? {
        extensions: appendPaymentIdentifierToExtensions(
          { [PAYMENT_IDENTIFIER]: declarePaymentIdentifierExtension(terms.paymentIdentifier.required) },
          paymentIdOf(taskId, row.sequenceNumber, row.units),
        ),
      }
    : {};
  return {
    x402Version: 2,
    resource: { url: terms.requirement.resource ?? terms.url },
    accepted: acceptedOf(terms, row.units),
    payload,
    ...identified,
  } as PaymentPayload;
}

export function paymentHeadersOf(rt: X402Runtime, row: PaidRow): Record<string, string> {
  return rt.payments!.encodePaymentSignatureHeader(paymentPayloadOf(rt.terms, row, rt.task.id));
}

/**
 * What the official client signs: the 402 as probed, with maxTimeoutSeconds capped to the
 * task's authorization lifetime (@x402/evm sets validBefore = now + maxTimeoutSeconds). Only the
 * signature comes from it; the header sent is rebuilt from the ledger row with the seller's own
 * terms (paymentPayloadOf), so a v2 seller still finds the `accepted` it advertised.
 */
function signingRequirementOf(rt: X402Runtime, units: number): PaymentRequired {
  const required = paymentRequiredOf(rt.terms, units);
  const lifetime = rt.policy.maxLifetimeSeconds;
  return { ...required, accepts: required.accepts.map((r) => ({ ...r, maxTimeoutSeconds: lifetime })) };
}

/** A payment to sign: the first mint it buys and how many. */
export type Purchase = { sequenceNumber: number; units: number };

/**
 * Signs one authorization per purchase (random nonce chosen by @x402/evm, validity the task's
 * capped lifetime, units × the probed price) and checks each against the guard, counting the
 * task's live and settled payments (`live`) so the batch as a whole stays within the funding.
 */
export async function signPayments(rt: X402Runtime, purchases: Purchase[], live: bigint): Promise<NewX402Payment[]> {
  const out: NewX402Payment[] = [];
  let committed = live;
  for (const { sequenceNumber, units } of purchases) {
    const payload = await rt.paymentClient!.createPaymentPayload(signingRequirementOf(rt, units));
    const inner = payload.payload as { authorization: PaymentAuthorization; signature: string };
    const made = inner.authorization;
    const authorization = {
      from: made.from,
      to: made.to,
      value: String(made.value),
      validAfter: String(made.validAfter),
      validBefore: String(made.validBefore),
      nonce: made.nonce,
    };
    checkX402Payment(rt.policy, { asset: rt.terms.requirement.asset, authorization, units }, { live: committed });
    committed += BigInt(authorization.value);
    out.push({
      sequenceNumber,
      units,
      nonce: authorization.nonce,
      authorization,
      signature: inner.signature,
      amount: authorization.value,
      payTo: authorization.to.toLowerCase(),
      validBefore: new Date(Number(authorization.validBefore) * 1000),
    });
  }
  return out;
}
