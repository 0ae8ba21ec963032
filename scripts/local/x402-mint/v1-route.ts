import type { Request, Response } from 'express';
import type { PaymentPayload, PaymentRequirements } from '@x402/core/types';
import type { FacilitatorClient } from '@x402/core/server';

export type V1Terms = {
  network: string;
  asset: string;
  amount: bigint;
  payTo: string;
  maxTimeoutSeconds: number;
  domain: { name: string; version: string };
};

/** The v1 `accepts[]` entry as the seed's upstream server writes it: no `extra`, resource rewritten to https. */
export function v1Requirement(req: Request, terms: V1Terms) {
  return {
    scheme: 'exact',
    network: terms.network,
    maxAmountRequired: terms.amount.toString(),
    resource: `https://${req.headers.host}${req.originalUrl}`,
    description: 'Mint the x402 demo token',
    mimeType: 'application/json',
    payTo: terms.payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds,
    asset: terms.asset,
  };
}

/**
 * x402 v1, hand-rolled as servers in the wild do it (the official express middleware speaks
 * v2): 402 with a JSON body, payment in X-PAYMENT, verified and settled by the same in-process
 * facilitator before the handler runs. The facilitator gets the domain the 402 leaves out.
 * Returns the payer once the payment settled, or undefined after answering the request itself.
 */
export async function settleV1(req: Request, res: Response, facilitator: FacilitatorClient, terms: V1Terms) {
  const requirement = v1Requirement(req, terms);
  const header = req.header('x-payment');
  if (!header) {
    res.status(402).json({ x402Version: 1, error: 'X-PAYMENT header is required', accepts: [requirement] });
    return undefined;
  }
  let payload: PaymentPayload;
  try {
    payload = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PaymentPayload;
  } catch {
    res.status(400).json({ error: 'X-PAYMENT is not base64 JSON' });
    return undefined;
  }
  const withDomain = { ...requirement, extra: terms.domain } as unknown as PaymentRequirements;
  const verified = await facilitator.verify(payload, withDomain);
  if (!verified.isValid) {
    res
      .status(402)
      .json({ x402Version: 1, error: verified.invalidReason ?? 'invalid payment', accepts: [requirement] });
    return undefined;
  }
  const settled = await facilitator.settle(payload, withDomain);
  if (!settled.success) {
    // Upstream answers a reused or failed payment with a 400 carrying the revert text.
    res.status(400).json({ error: settled.errorMessage ?? settled.errorReason ?? 'settlement failed' });
    return undefined;
  }
  const response = { success: true, transaction: settled.transaction, network: terms.network, payer: settled.payer };
  res.setHeader('X-PAYMENT-RESPONSE', Buffer.from(JSON.stringify(response)).toString('base64'));
  return { payer: settled.payer ?? verified.payer, transaction: settled.transaction };
}
