import { describe, expect, it } from 'vitest';
import {
  answersWithVoucher,
  asksForTransactionHash,
  buyerFacingText,
  declaredInputOf,
  missingFieldsOf,
  nonX402Payment,
  sellerMessage,
} from '@/lib/x402/seller-shapes';

// Reading what sellers in the wild say about themselves (pure; the probe tests play each shape).
describe('seller shapes', () => {
  it('reads the declared input: method and body fields (v1 outputSchema, v2 bazaar)', () => {
    expect(
      declaredInputOf({
        input: { type: 'http', method: 'post', bodyFields: { to: { type: 'string', required: true }, amount: {} } },
      }),
    ).toEqual({
      method: 'POST',
      fields: [
        { name: 'to', required: true },
        { name: 'amount', required: false },
      ],
    });
    expect(declaredInputOf(undefined, { bazaar: { info: { input: { type: 'http', method: 'GET' } } } })).toEqual({
      method: 'GET',
      fields: [],
    });
    expect(declaredInputOf({ output: {} })).toBeUndefined();
  });

  it('finds the missing fields a refusal names', () => {
    expect(missingFieldsOf('Missing required fields: userAddress, fid')).toEqual(['userAddress', 'fid']);
    expect(missingFieldsOf('missing field recipient')).toEqual(['recipient']);
    expect(missingFieldsOf('Sold out')).toEqual([]);
  });

  it('quotes a seller: JSON error, error.message, an Express HTML page; bounded and printable', () => {
    expect(sellerMessage('', { error: 'Sold out' })).toBe('Sold out');
    expect(sellerMessage('', { error: { code: 'X', message: 'Missing required fields: fid' } })).toBe(
      'Missing required fields: fid',
    );
    expect(sellerMessage('<html><body><pre>Cannot POST /mint</pre></body></html>', undefined)).toBe(
      'Cannot POST /mint',
    );
    expect(sellerMessage('a\u0007b'.repeat(200), undefined)!.length).toBeLessThanOrEqual(201);
  });

  it('recognises vouchers, transaction-hash payments and non-x402 402 bodies', () => {
    expect(answersWithVoucher({ output: { voucher: {}, signature: 'bytes' } })).toBe(true);
    expect(answersWithVoucher({ output: { message: 'string' } }, 'Mint a token')).toBe(false);
    expect(asksForTransactionHash('Missing transaction hash in payment proof.')).toBe(true);
    expect(asksForTransactionHash('payment rejected')).toBe(false);
    // riz877's 402s over time, and what must not read as a request for a hash.
    expect(asksForTransactionHash('POST your mint transaction hash to this endpoint')).toBe(true);
    expect(asksForTransactionHash('Pay 2 USDC, mint your NFT, then submit proof')).toBe(true);
    expect(asksForTransactionHash(buyerFacingText({ step3: { payload: { mintTxHash: '0x…' } } }))).toBe(true);
    expect(asksForTransactionHash(buyerFacingText({ outputSchema: { output: { transactionHash: 'string' } } }))).toBe(
      false,
    );
    expect(asksForTransactionHash('Proof of stake NFT, mint one')).toBe(false);
    expect(nonX402Payment({ amount6: '10000', payTo: '0x' + '1'.repeat(40) })).toEqual({
      amount: '10000',
      payTo: '0x' + '1'.repeat(40),
    });
    expect(nonX402Payment({ x402Version: 1, accepts: [] })).toBeUndefined();
  });
});
