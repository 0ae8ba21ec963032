import { describe, expect, it } from 'vitest';
import { quoteText } from '@/lib/ai/offline/replies';
import type { QuoteDto } from '@/lib/tasks/quote';
import { bodyForMints, judgeBulkPricing, learnMintsPerPayment, quantityFieldOf } from '@/lib/x402/bulk-pricing';
import type { RawRequirement } from '@/lib/x402/requirements';

// Whether one payment may buy several mints (pure; the probe and worker tests play it against a seller).
const one: RawRequirement = {
  scheme: 'exact',
  network: 'eip155:84532',
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  payTo: '0x' + 'ab'.repeat(20),
  maxTimeoutSeconds: 60,
  amount: '10000',
  extra: { name: 'USDC', version: '2' },
};

describe('several mints per payment', () => {
  it('scales only at exactly k × the price of one, on the same terms otherwise', () => {
    const at = (over: Partial<RawRequirement>) =>
      judgeBulkPricing(one, 10, 'quantity', { requirement: { ...one, ...over } });
    expect(at({ amount: '100000' })).toEqual({
      max: 10,
      reason: 'scales',
      field: 'quantity',
      asked: 10,
      askedAmount: '100000',
    });
    expect(at({ amount: '90000' })).toMatchObject({ max: 1, reason: 'not_scaling', askedAmount: '90000' });
    expect(at({ amount: '100001' }).max).toBe(1);
    expect(at({ amount: '10000' }).max).toBe(1);
    expect(at({ amount: '100000', payTo: '0x' + 'cd'.repeat(20) }).max).toBe(1);
    expect(at({ amount: '100000', maxTimeoutSeconds: 600 }).max).toBe(1);
    expect(at({ amount: '100000', extra: { name: 'Other', version: '1' } }).max).toBe(1);
    expect(at({ amount: 'lots' })).toEqual({ max: 1, reason: 'not_scaling', field: 'quantity', asked: 10 });
    expect(judgeBulkPricing(one, 10, 'quantity', { refused: '400' })).toMatchObject({ max: 1, reason: 'refused' });
  });

  it('asks only where the request has a quantity field and the setting allows more than one', async () => {
    let asked: unknown;
    const ask = async (body: Record<string, unknown>) => {
      asked = body;
      return { requirement: { ...one, amount: '50000' } };
    };
    expect(await learnMintsPerPayment({ quantity: 1, to: '0x1' }, one, 5, ask)).toMatchObject({ max: 5 });
    expect(asked).toEqual({ quantity: 5, to: '0x1' });
    asked = undefined;
    expect(await learnMintsPerPayment(undefined, one, 5, ask)).toEqual({ max: 1, reason: 'no_quantity_field' });
    expect(await learnMintsPerPayment({ to: '0x1' }, one, 5, ask)).toEqual({ max: 1, reason: 'no_quantity_field' });
    expect(await learnMintsPerPayment({ count: 1 }, one, 1, ask)).toEqual({
      max: 1,
      reason: 'setting',
      field: 'count',
    });
    expect(asked).toBeUndefined();
    expect(quantityFieldOf({ recipient: '0x1', qty: 1 })).toBe('qty');
  });

  it('a payment’s body names its mints in the field learnt; one mint keeps the body as probed', () => {
    const m = { max: 10, reason: 'scales' as const, field: 'quantity' };
    expect(bodyForMints({ quantity: 1, recipient: '0x1' }, m, 4)).toEqual({ quantity: 4, recipient: '0x1' });
    expect(bodyForMints({ quantity: 1 }, m, 1)).toEqual({ quantity: 1 });
    expect(bodyForMints(undefined, m, 4)).toBeUndefined();
  });

  it('the quote says how many mints a payment buys and why, in English and Chinese', () => {
    const quote = (mintsPerPayment: NonNullable<QuoteDto['endpoint']>['mintsPerPayment']): QuoteDto => ({
      route: 'x402',
      token: { address: '0x' + '12'.repeat(20), name: 'X', symbol: 'X4D' } as QuoteDto['token'],
      quantity: 25,
      pricePerMint: '10000',
      totalCost: '250000',
      pricePerMintUsdc: '0.01',
      totalCostUsdc: '0.25',
      endpoint: {
        host: 'mint.example',
        version: 2,
        network: 'eip155:84532',
        payTo: one.payTo as never,
        mintsPerPayment,
      },
    });
    const scales = { max: 10, reason: 'scales' as const, asked: 10, askedAmount: '100000' };
    expect(quoteText(quote(scales), 'en')).toContain('Up to 10 mints per payment');
    expect(quoteText(quote(scales), 'zh')).toContain('每次付款最多买 10 个');
    const discount = { max: 1, reason: 'not_scaling' as const, asked: 10, askedAmount: '90000' };
    expect(quoteText(quote(discount), 'en')).toContain('One mint per payment: the seller asks 90000 for 10');
    expect(quoteText(quote(discount), 'zh')).toContain('每次付款买 1 个');
    expect(quoteText(quote({ max: 1, reason: 'no_quantity_field' }), 'en')).not.toMatch(/per payment/);
  });
});
