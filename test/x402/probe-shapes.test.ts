import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseUnits } from 'viem';
import { describe, expect, it } from 'vitest';
import { errorText } from '@/lib/ai/offline/replies';
import { AppError } from '@/lib/errors';
import { defaultProbeTarget, probeX402Endpoint } from '@/lib/x402/probe';
import { user } from '../support/fixtures';
import { useX402Setup } from './support';

// The probe against the seller shapes found in the wild (shared/DESIGN.md), each played by the
// local server on a chain with Base Sepolia's id (v1 sellers name it): what is buyable is read
// right (method, body, the asset's own domain, the token), and what is not is refused before
// anything is signed, in the seller's words where it gave some, in English and Chinese.
const alice = user(1).address;

const setup = useX402Setup({ chainId: 84532 });

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const e = error as AppError;
  expect(e.status).toBe(400);
  const details = e.details as Record<string, unknown>;
  return { message: e.message, zh: errorText(e.message, 'zh', 'createX402Task'), reason: details.reason, ...details };
}

const probe = (url: string, mintsPerPayment = 10) =>
  probeX402Endpoint(
    { url, userAddress: alice },
    {
      ...defaultProbeTarget(),
      chainId: 84532,
      usdc: setup.server.usdc,
      maxAmount: parseUnits('1', 6),
      mintsPerPayment,
    },
  );

describe('seller shapes at the probe', () => {
  it('GET-only (POST answers Express 404 "Cannot POST"): tried with GET, bought by GET, minted to the payer', async () => {
    const before = setup.server.stats.requests;
    const { terms, token, tokenSource } = await probe(setup.server.mintUrl('get-only'));
    expect(terms).toMatchObject({ method: 'GET', mintsToUser: false, version: 2 });
    expect(terms.body).toBeUndefined();
    expect(token?.address).toBe(setup.server.tokenAddress);
    expect(tokenSource).toBe('payTo');
    expect(setup.server.stats.requests - before).toBe(2);
  });

  it('extra naming a domain that is not the asset’s: signs the asset’s own, read on chain, and says so', async () => {
    const { terms } = await probe(setup.server.mintUrl('foreign-domain'));
    expect(terms.domain).toEqual(setup.server.domain);
    expect(terms.advertisedDomain).toEqual({ name: 'X4D Mint', version: '1' });
    // The seller's extra is kept as it advertised it: a v2 payment echoes it.
    expect(terms.requirement.extra).toMatchObject({ name: 'X4D Mint', version: '1' });
  });

  it('extra {contract, outPerMint} with payTo a hot wallet: the token comes from extra.contract', async () => {
    const { terms, token, tokenSource } = await probe(setup.server.mintUrl('extra-contract'));
    expect(token?.address).toBe(setup.server.tokenAddress);
    expect(tokenSource).toBe('extra');
    expect(terms.requirement.payTo).toBe(setup.server.hotWallet);
    expect(terms.domain).toEqual(setup.server.domain);
    expect(terms.advertisedDomain).toEqual({ name: 'BANANA Mint', version: '1' });
  });

  it('400 "Missing required fields: to": asked again with the recipient filled in, and bought that way', async () => {
    const { terms } = await probe(setup.server.mintUrl('needs-fields'));
    expect(terms).toMatchObject({ method: 'POST', body: { quantity: 1, to: alice }, mintsToUser: true });
  });

  it('a 4xx naming a field AgentMint cannot give: the seller is quoted, not called "not an x402 endpoint"', async () => {
    const r = await refusal(probe(setup.server.mintUrl('voucher')));
    expect(r).toMatchObject({ reason: 'seller_refused', status: 400, fields: ['fid'] });
    expect(r.message).toContain('the seller says: "Missing required fields: userAddress, fid"');
    expect(r.message).toContain('it cannot supply fid');
    expect(r.message).not.toMatch(/not an x402 endpoint/);
    expect(r.zh).toContain('卖家说："Missing required fields: userAddress, fid"');
    expect(r.zh).toContain('无法提供 fid');
  });

  it('GET-only and a 400 naming fields it misses: quoted, not POSTed to again (it refused POST already)', async () => {
    const methods: string[] = [];
    const seller = http.createServer((req, res) => {
      methods.push(req.method ?? '');
      res.writeHead(req.method === 'GET' ? 400 : 405, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: req.method === 'GET' ? 'Missing required fields: address' : 'GET only' }));
    });
    await new Promise<void>((resolve) => seller.listen(0, '127.0.0.1', resolve));
    try {
      const r = await refusal(probe(`http://127.0.0.1:${(seller.address() as AddressInfo).port}/mint`));
      expect(r.reason).toBe('seller_refused');
      expect(r.message).toContain('the seller says: "Missing required fields: address"');
      expect(methods).toEqual(['POST', 'GET']);
    } finally {
      await new Promise((resolve) => seller.close(resolve));
    }
  });

  it('a voucher seller: refused at the probe, nothing signed', async () => {
    const paid = setup.server.stats.paid;
    const r = await refusal(probe(`${setup.server.mintUrl('voucher')}&fid=7`));
    expect(r.reason).toBe('voucher');
    expect(r.zh).toMatch(/凭证/);
    expect(setup.server.stats.paid).toBe(paid);
  });

  it('a transaction-hash seller whose 402 says so ("then submit proof", mintTxHash): refused at the probe, nothing signed', async () => {
    const paid = setup.server.stats.paid;
    const r = await refusal(probe(setup.server.mintUrl('hash-as-payment-told')));
    expect(r.reason).toBe('tx_hash_payment');
    expect(r.message).toMatch(/wants a transaction hash as payment/);
    expect(r.zh).toMatch(/交易哈希/);
    expect(setup.server.stats.paid).toBe(paid);
  });

  it('a transaction-hash seller whose 402 looks standard: not detectable here (its output names the mint’s transactionHash, which asks for nothing)', async () => {
    const { terms } = await probe(setup.server.mintUrl('hash-as-payment'));
    expect(terms).toMatchObject({ method: 'POST', version: 1 });
    expect(terms.requirement.payTo).toBe(setup.server.hotWallet);
  });

  it('a non-x402 402 {amount6, payTo}: refused as a payment outside x402', async () => {
    const r = await refusal(probe(setup.server.mintUrl('non-x402')));
    expect(r.reason).toBe('not_x402_payment');
    expect(r.message).toContain(`10000 to ${setup.server.tokenAddress}`);
    expect(r.zh).toMatch(/x402 之外付款/);
  });

  it('a 404 with the seller’s words is quoted too', async () => {
    const r = await refusal(probe(`${setup.server.url}/nothing-here`));
    expect(r.reason).toBe('no_402');
    expect(r.message).toContain('the seller says: "Cannot GET /nothing-here"');
    expect(r.zh).toContain('卖家说');
  });

  it('quantity in the body, priced per quantity: asked for 10 at once, exactly 10 × one, so a payment may buy 10', async () => {
    const before = setup.server.stats.requests;
    const { terms } = await probe(setup.server.mintUrl('v2'));
    expect(terms.requirement.amount).toBe(setup.server.price.toString());
    expect(terms.body).toEqual({ quantity: 1, recipient: alice });
    expect(terms.mintsPerPayment).toEqual({
      max: 10,
      reason: 'scales',
      field: 'quantity',
      asked: 10,
      askedAmount: (10n * setup.server.price).toString(),
    });
    expect(setup.server.stats.requests - before).toBe(2);
    // v1 (the seed's upstream shape) the same.
    expect((await probe(setup.server.mintUrl('v1'))).terms.mintsPerPayment).toMatchObject({
      max: 10,
      reason: 'scales',
    });
  });

  it('a price for 10 that is not 10 × one, a quantity it refuses, no quantity field, the setting at 1: one mint per payment, and why', async () => {
    const discount = await probe(setup.server.mintUrl('bulk-discount'));
    expect(discount.terms.mintsPerPayment).toEqual({
      max: 1,
      reason: 'not_scaling',
      field: 'quantity',
      asked: 10,
      askedAmount: ((10n * setup.server.price * 9n) / 10n).toString(),
    });
    // The local seller sells 1-10 per request: 20 at once is a 400.
    expect((await probe(setup.server.mintUrl('v2'), 20)).terms.mintsPerPayment).toEqual({
      max: 1,
      reason: 'refused',
      field: 'quantity',
      asked: 20,
    });
    expect((await probe(setup.server.mintUrl('get-only'))).terms.mintsPerPayment).toEqual({
      max: 1,
      reason: 'no_quantity_field',
    });
    const before = setup.server.stats.requests;
    expect((await probe(setup.server.mintUrl('v2'), 1)).terms.mintsPerPayment).toEqual({
      max: 1,
      reason: 'setting',
      field: 'quantity',
    });
    expect(setup.server.stats.requests - before).toBe(1);
  });

  it('payment-identifier: recorded where the v2 402 declares it, absent from a v1 seller', async () => {
    expect((await probe(setup.server.mintUrl('payment-id'))).terms.paymentIdentifier).toEqual({ required: false });
    expect((await probe(setup.server.mintUrl('v1'))).terms.paymentIdentifier).toBeUndefined();
  });
});
