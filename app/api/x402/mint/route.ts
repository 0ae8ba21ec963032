import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http';
import { json, readJson, route } from '@/lib/http';
import { enforceRateLimit, enforceRateLimits, ipRateLimit } from '@/lib/rate-limit';
import { toTaskDto } from '@/lib/tasks/serialize';
import { saleNetwork, soldTaskUrl } from '@/lib/x402-seller/resource';
import { sellMintTask, type PaymentOffer, type SoldTask } from '@/lib/x402-seller/sell-mint-task';
import { saleBodySchema } from './schema';

export const dynamic = 'force-dynamic';

// An offer reads the chain (and probes an endpoint for a URL) and may create the payer's agent
// wallet; a paid request is a funding, limited exactly as the fund route limits it (same keys:
// 30 a minute per client IP, and per payer counting only attempts the payer signed).
const OFFER_LIMIT = { limit: 60, windowMs: 60_000 };
const FUND_LIMIT = { limit: 30, windowMs: 60_000 };

/**
 * Buy a mint task over x402. Unpaid: 402 with one `exact` requirement for the whole task,
 * payable to the payer's own agent wallet (v2 PAYMENT-REQUIRED header, v1 JSON body). Paid
 * (PAYMENT-SIGNATURE or X-PAYMENT): the task is created and funded by that payment and the answer
 * is 201 with the task, its status URL and task token, and PAYMENT-RESPONSE. The same payment or
 * payment-identifier again answers the same (lib/x402-seller/sell-mint-task.ts).
 */
export const POST = route(async (req) => {
  const body = await readJson(req, saleBodySchema, 'x402_mint');
  const paid = req.headers.has('payment-signature') || req.headers.has('x-payment');
  await enforceRateLimits([
    ipRateLimit('x402', req, OFFER_LIMIT),
    ...(paid ? [ipRateLimit('fund', req, FUND_LIMIT)] : []),
  ]);
  const outcome = await sellMintTask(body, req.headers, {
    // Per payer only once the payment's signature is theirs, as the fund route counts it.
    onPayerVerified: () => enforceRateLimit(`fund:address:${body.payer.toLowerCase()}`, FUND_LIMIT),
  });
  return outcome.kind === 'payment_required' ? paymentRequired(outcome.offer) : soldAnswer(outcome.sold);
});

function paymentRequired(offer: PaymentOffer) {
  return json(offer.v1, { status: 402, headers: { 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(offer.v2) } });
}

function soldAnswer(sold: SoldTask) {
  const statusUrl = soldTaskUrl(sold.task.id);
  const payment = { txHash: sold.txHash, network: saleNetwork(), payer: sold.payer, paymentId: sold.paymentId };
  const settlement = encodePaymentResponseHeader({
    success: true,
    transaction: sold.txHash,
    network: saleNetwork(),
    payer: sold.payer,
  });
  return json(
    { task: toTaskDto(sold.task), taskToken: sold.taskToken, statusUrl, cancelUrl: `${statusUrl}/cancel`, payment },
    {
      status: 201,
      headers: {
        [sold.version === 2 ? 'PAYMENT-RESPONSE' : 'X-PAYMENT-RESPONSE']: settlement,
        location: statusUrl,
        'access-control-expose-headers': 'PAYMENT-RESPONSE, X-PAYMENT-RESPONSE, Location',
      },
    },
  );
}
