import type { Request, Response } from 'express';
import { decodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentPayload } from '@x402/core/types';
import { extractPaymentIdentifier } from '@x402/extensions/payment-identifier';
import type { Address } from 'viem';
import { v1Requirement, type V1Terms } from './v1-route';

// Seller shapes found in the wild (shared/DESIGN.md, "x402 sellers in the wild") that the
// official middleware does not speak: answers written by hand, as those servers write them.

/** The paid request's payload (v2 PAYMENT-SIGNATURE or v1 X-PAYMENT), or undefined when it is not one. */
export function paymentOf(req: Request): PaymentPayload | undefined {
  const v2 = req.header('payment-signature');
  const v1 = req.header('x-payment');
  try {
    if (v2) return decodePaymentSignatureHeader(v2);
    if (v1) return JSON.parse(Buffer.from(v1, 'base64').toString('utf8')) as PaymentPayload;
  } catch {
    return undefined;
  }
  return undefined;
}

export const payerOf = (payload: PaymentPayload | undefined) =>
  (payload?.payload as { authorization?: { from?: Address } } | undefined)?.authorization?.from;

export const nonceOf = (payload: PaymentPayload | undefined) =>
  (payload?.payload as { authorization?: { nonce?: string } } | undefined)?.authorization?.nonce;

/** The payment-identifier a v2 payload carries (@x402/extensions), if any. */
export function paymentIdOf(payload: PaymentPayload | undefined): string | undefined {
  if (!payload) return undefined;
  try {
    return extractPaymentIdentifier(payload, true) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Express's answer to a method it has no route for (pog-token-api takes GET only). */
export function cannotMethod(req: Request, res: Response) {
  res
    .status(404)
    .type('html')
    .send(
      `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${req.method} ${req.path}</pre>\n</body>\n</html>\n`,
    );
}

/** A 402 that is not x402 (osbrain/x402-mint): an amount in 6 decimals and an address, paid some other way. */
export function nonX402(res: Response, terms: { amount: bigint; payTo: string }) {
  res.status(402).json({
    amount6: terms.amount.toString(),
    payTo: terms.payTo,
    message: 'Send USDC with POST /gasless/transfer, then call again',
  });
}

/** A v1 402 with extra fields written into the requirement (outputSchema, extra), as sellers in the wild add them. */
export function v1PaymentRequired(
  req: Request,
  res: Response,
  terms: V1Terms,
  more: Record<string, unknown>,
  besides: Record<string, unknown> = {},
) {
  res.status(402).json({
    x402Version: 1,
    error: 'Payment Required',
    ...besides,
    accepts: [{ ...v1Requirement(req, terms), ...more }],
  });
}

/**
 * The geoplet voucher shape: the 402 says the answer is a signed voucher; a paid request is
 * verified only, and answered with a voucher the buyer would redeem on chain itself (and a
 * second call would settle the payment).
 */
export const voucherOutputSchema = {
  input: {
    type: 'http',
    method: 'POST',
    bodyType: 'json',
    bodyFields: { userAddress: { type: 'string', required: true } },
  },
  output: { voucher: { to: 'address', nonce: 'uint256', deadline: 'uint256' }, signature: 'bytes' },
};

/**
 * What riz877's 402 adds to the requirement: the input (a POST, no fields) and the output it
 * answers with (its mint's transaction hash: a seller returning one is not asking for one).
 */
export const txHashOutputSchema = {
  input: { type: 'http', method: 'POST', body: {} },
  output: { message: 'string', data: { recipient: 'address', transactionHash: 'string' } },
};

/** riz877's earlier 402s: beside `accepts`, steps telling the buyer to pay and mint itself, then submit the hash. */
export function txHashInstructions(terms: { amount: bigint; payTo: string; asset: string }) {
  return {
    message: 'Pay USDC, mint your NFT, then submit proof',
    instructions: {
      step1: { action: 'Send USDC', to: terms.payTo, amount: terms.amount.toString(), token: terms.asset },
      step2: { action: 'Mint your NFT', function: 'mint(address _to, uint256 _mintAmount)' },
      step3: { action: 'Submit verification', method: 'POST to this endpoint', payload: { mintTxHash: '0x…' } },
    },
  };
}

/** riz877/my-x402-backend: a standard-looking 402; the payment it takes is the hash of a transfer the buyer sent itself. */
export const txHashRefusal = {
  error: 'Invalid or unverified payment proof: Missing transaction hash in payment proof.',
};

/**
 * payment-identifier (the official extension): the first answer to an id is kept, and a request
 * that carries the same id again gets that answer (or waits for it while the first is in
 * flight) instead of being served twice. A 5xx is handed to those waiting but not kept: the
 * next request with the id is served afresh.
 */
export function idempotencyCache() {
  type Answer = { status: number; body: unknown };
  const answers = new Map<string, Promise<Answer>>();
  return {
    get: (id: string) => answers.get(id),
    begin(id: string) {
      let resolve!: (answer: Answer) => void;
      answers.set(id, new Promise((r) => (resolve = r)));
      let settled = false;
      return (answer: Answer) => {
        if (settled) return;
        settled = true;
        if (answer.status >= 500) answers.delete(id);
        resolve(answer);
      };
    },
  };
}
