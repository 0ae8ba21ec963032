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

/** The 402 the endpoint answered at the probe, as the official client reads it. */
export function paymentRequiredOf(terms: X402Terms): PaymentRequired {
  const { requirement } = terms;
  if (terms.version === 1) {
    const accepts = [
      {
        scheme: requirement.scheme,
        network: requirement.network,
        maxAmountRequired: requirement.amount,
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
    accepts: [acceptedOf(terms)],
  } as PaymentRequired;
}

/** The v2 `accepted` echo: exactly the core fields the endpoint advertised (its match is deep-equal). */
function acceptedOf(terms: X402Terms) {
  const { requirement } = terms;
  return {
    scheme: requirement.scheme,
    network: requirement.network as `${string}:${string}`,
    asset: requirement.asset,
    amount: requirement.amount,
    payTo: requirement.payTo,
    maxTimeoutSeconds: requirement.maxTimeoutSeconds,
    extra: withDomain(terms),
  };
}

type PaidRow = Pick<X402PaymentRow, 'sequenceNumber' | 'authorization' | 'signature'>;

/**
 * The payment-identifier of a mint (@x402/extensions): derived from the task and the mint's
 * sequence, so every (re-)send of that mint's payment names the same purchase, and a seller that
 * honours the extension serves it once.
 */
export function paymentIdOf(taskId: string, sequenceNumber: number): string {
  return `agentmint_${taskId.replace(/-/g, '')}_${sequenceNumber}`;
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
          paymentIdOf(taskId, row.sequenceNumber),
        ),
      }
    : {};
  return {
    x402Version: 2,
    resource: { url: terms.requirement.resource ?? terms.url },
    accepted: acceptedOf(terms),
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
function signingRequirementOf(rt: X402Runtime): PaymentRequired {
  const required = paymentRequiredOf(rt.terms);
  const lifetime = rt.policy.maxLifetimeSeconds;
  return { ...required, accepts: required.accepts.map((r) => ({ ...r, maxTimeoutSeconds: lifetime })) };
}

/**
 * Signs one authorization per sequence (random nonce chosen by @x402/evm, validity the task's
 * capped lifetime) and checks each against the guard, counting the task's live and settled
 * payments (`live`) so the batch as a whole stays within the funding.
 */
export async function signPayments(rt: X402Runtime, sequences: number[], live: bigint): Promise<NewX402Payment[]> {
  const required = signingRequirementOf(rt);
  const out: NewX402Payment[] = [];
  let committed = live;
  for (const sequenceNumber of sequences) {
    const payload = await rt.paymentClient!.createPaymentPayload(required);
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
    checkX402Payment(rt.policy, { asset: rt.terms.requirement.asset, authorization }, { live: committed });
    committed += BigInt(authorization.value);
    out.push({
      sequenceNumber,
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
