import type { MintsPerPayment } from '@/db/schema';
import type { RawRequirement } from './requirements';
import { fieldKind } from './seller-shapes';

// Several mints per payment. A seller whose request takes a quantity (the seed's upstream
// `POST /api/mint/<token> {quantity, recipient?}`) may sell k mints for one authorization:
// fewer signatures, settlements and fees. The probe asks the price of one mint and of k in one
// request (k = X402_MINTS_PER_PAYMENT, capped by MINT_BATCH_SIZE), and a payment buys several
// mints only when the seller asks exactly k × the price of one, to the same payee, in the same
// asset and scheme on the same network, with the same timeout and `extra`: then the price is
// linear and the payment guard can check every payment as units × the price of one. Anything
// else (a discount, a surcharge, a refusal, a request with no quantity) is bought one mint per
// payment, as before, and the quote says why.

/** The body field that carries how many mints a request buys, if the request has one. */
export function quantityFieldOf(body: Record<string, unknown> | undefined): string | undefined {
  return Object.keys(body ?? {}).find((name) => fieldKind(name) === 'quantity');
}

/** What asking for `asked` mints in one request brought: the requirement of its 402, or why there is none. */
export type BulkAnswer = { requirement: RawRequirement } | { refused: string };

/**
 * Whether one payment may buy `asked` mints: the seller's price for them must be exactly
 * asked × `one`'s, on the same terms otherwise.
 */
export function judgeBulkPricing(
  one: RawRequirement,
  asked: number,
  field: string,
  answer: BulkAnswer,
): MintsPerPayment {
  if ('refused' in answer) return { max: 1, reason: 'refused', field, asked };
  const many = answer.requirement;
  const askedAmount = /^\d+$/.test(many.amount) ? many.amount : undefined;
  const same =
    many.scheme === one.scheme &&
    many.network === one.network &&
    many.asset.toLowerCase() === one.asset.toLowerCase() &&
    many.payTo.toLowerCase() === one.payTo.toLowerCase() &&
    many.maxTimeoutSeconds === one.maxTimeoutSeconds &&
    JSON.stringify(many.extra ?? {}) === JSON.stringify(one.extra ?? {});
  const scales = same && askedAmount !== undefined && BigInt(askedAmount) === BigInt(one.amount) * BigInt(asked);
  return {
    max: scales ? asked : 1,
    reason: scales ? 'scales' : 'not_scaling',
    field,
    asked,
    ...(askedAmount ? { askedAmount } : {}),
  };
}

/**
 * Learns how many mints a payment may buy: asks (through `ask`, one more unpaid request) for
 * `setting` mints where the request has a quantity field and the setting allows more than one.
 */
export async function learnMintsPerPayment(
  body: Record<string, unknown> | undefined,
  one: RawRequirement,
  setting: number,
  ask: (body: Record<string, unknown>) => Promise<BulkAnswer>,
): Promise<MintsPerPayment> {
  const field = quantityFieldOf(body);
  if (!field || !body) return { max: 1, reason: 'no_quantity_field' };
  if (setting <= 1) return { max: 1, reason: 'setting', field };
  return judgeBulkPricing(one, setting, field, await ask({ ...body, [field]: setting }));
}

/** A request's body for a payment that buys `units` mints (the field the probe learnt; the body as probed for one). */
export function bodyForMints(body: unknown, mintsPerPayment: MintsPerPayment | undefined, units: number): unknown {
  if (units === 1 || !mintsPerPayment?.field || typeof body !== 'object' || body === null) return body;
  return { ...(body as Record<string, unknown>), [mintsPerPayment.field]: units };
}

/** One line for the quote: how many mints each payment buys, and why. */
export function mintsPerPaymentNote(
  m: Omit<MintsPerPayment, 'field'> | undefined,
): { en: string; zh: string } | undefined {
  if (!m) return undefined;
  switch (m.reason) {
    case 'scales':
      return {
        en: `Up to ${m.max} mints per payment: the seller prices ${m.asked} in one request at exactly ${m.asked} × one (the first payment buys one, to see delivery).`,
        zh: `每次付款最多买 ${m.max} 个：卖家对一次请求 ${m.asked} 个的报价正好是单价的 ${m.asked} 倍（第一次付款只买 1 个，先确认交付）。`,
      };
    case 'not_scaling':
      return {
        en: `One mint per payment: the seller asks ${m.askedAmount ?? 'a different price'} for ${m.asked} in one request, not exactly ${m.asked} × the price of one.`,
        zh: `每次付款买 1 个：卖家对一次 ${m.asked} 个的报价（${m.askedAmount ?? '另一价格'}）不是单价的 ${m.asked} 倍。`,
      };
    case 'refused':
      return {
        en: `One mint per payment: the seller does not sell ${m.asked} in one request.`,
        zh: `每次付款买 1 个：卖家不接受一次请求买 ${m.asked} 个。`,
      };
    case 'setting':
      return {
        en: 'One mint per payment (X402_MINTS_PER_PAYMENT is 1).',
        zh: '每次付款买 1 个（X402_MINTS_PER_PAYMENT 为 1）。',
      };
    default:
      return {
        en: 'One mint per payment: the seller’s request takes no quantity.',
        zh: '每次付款买 1 个：卖家的请求不带数量。',
      };
  }
}
