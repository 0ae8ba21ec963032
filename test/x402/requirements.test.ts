import { describe, expect, it } from 'vitest';
import { encodePaymentRequiredHeader, decodePaymentRequiredHeader } from '@x402/core/http';
import { AppError } from '@/lib/errors';
import {
  chainIdOfNetwork,
  normaliseRequirements,
  selectRequirement,
  type RawRequirement,
} from '@/lib/x402/requirements';

const USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const PAY_TO = '0x1111111111111111111111111111111111111111';
const target = { chainId: 84532, usdc: USDC, maxAmount: 1_000_000n, networkLabel: 'eip155:84532' };
const offer = (over: Partial<RawRequirement> = {}): RawRequirement => ({
  scheme: 'exact',
  network: 'eip155:84532',
  asset: USDC,
  payTo: PAY_TO,
  maxTimeoutSeconds: 60,
  amount: '10000',
  ...over,
});

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return { status: (e as AppError).status, message: (e as AppError).message, ...(e as AppError).details };
  }
  throw new Error('expected a refusal');
};

describe('chainIdOfNetwork', () => {
  it('reads CAIP-2 and the official v1 names', () => {
    expect(chainIdOfNetwork('eip155:84532')).toBe(84532);
    expect(chainIdOfNetwork('eip155:31337')).toBe(31337);
    expect(chainIdOfNetwork('base-sepolia')).toBe(84532);
    expect(chainIdOfNetwork('base')).toBe(8453);
    expect(chainIdOfNetwork('solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp')).toBeUndefined();
    expect(chainIdOfNetwork('toString')).toBeUndefined();
  });
});

describe('selectRequirement', () => {
  it('picks the exact EVM offer on the chain in the configured USDC, whatever the casing or order', () => {
    const good = offer({ asset: USDC.toLowerCase() });
    expect(selectRequirement([offer({ scheme: 'upto' }), offer({ network: 'eip155:1' }), good], target)).toBe(good);
    expect(selectRequirement([offer({ network: 'base-sepolia' })], target).network).toBe('base-sepolia');
  });

  it('names what no offer got right: scheme, network, asset', () => {
    expect(refusal(() => selectRequirement([offer({ scheme: 'upto' })], target))).toMatchObject({
      status: 400,
      reason: 'no_requirement',
      mismatch: 'scheme',
    });
    expect(
      refusal(() => selectRequirement([offer({ network: 'eip155:1' }), offer({ scheme: 'upto' })], target)),
    ).toMatchObject({ mismatch: 'network', network: 'eip155:1' });
    expect(refusal(() => selectRequirement([offer({ network: 'ethereum' })], target)).message).toContain('ethereum');
    expect(refusal(() => selectRequirement([offer({ asset: PAY_TO })], target))).toMatchObject({
      mismatch: 'asset',
      asset: PAY_TO,
    });
    expect(refusal(() => selectRequirement([], target))).toMatchObject({ reason: 'no_requirement' });
    expect(refusal(() => selectRequirement([offer({ amount: '-1' })], target))).toMatchObject({
      mismatch: 'malformed',
    });
    expect(refusal(() => selectRequirement([offer({ payTo: 'nope' })], target))).toMatchObject({
      mismatch: 'malformed',
    });
  });

  it('refuses a price above the cap, and takes one at it', () => {
    expect(refusal(() => selectRequirement([offer({ amount: '1000001' })], target))).toMatchObject({
      reason: 'price_too_high',
      amount: '1000001',
      max: '1000000',
    });
    expect(selectRequirement([offer({ amount: '1000000' })], target).amount).toBe('1000000');
  });
});

describe('normaliseRequirements', () => {
  it('reads a v2 header through the official codec', () => {
    const header = encodePaymentRequiredHeader({
      x402Version: 2,
      resource: { url: 'https://mint.example/api/mint', description: '', mimeType: 'application/json' },
      accepts: [
        {
          scheme: 'exact',
          network: 'eip155:84532',
          asset: USDC,
          amount: '5000',
          payTo: PAY_TO,
          maxTimeoutSeconds: 30,
          extra: { name: 'USDC', version: '2' },
        },
      ],
    });
    const { version, requirements } = normaliseRequirements(decodePaymentRequiredHeader(header));
    expect(version).toBe(2);
    expect(requirements[0]).toMatchObject({
      amount: '5000',
      resource: 'https://mint.example/api/mint',
      extra: { name: 'USDC', version: '2' },
    });
  });

  it('reads a v1 body (maxAmountRequired, no extra)', () => {
    const body = {
      x402Version: 1,
      accepts: [
        {
          scheme: 'exact',
          network: 'base-sepolia',
          maxAmountRequired: '1000000',
          resource: 'https://x/api/mint/0x1',
          description: '',
          mimeType: '',
          payTo: PAY_TO,
          maxTimeoutSeconds: 300,
          asset: USDC,
        },
      ],
    };
    const { version, requirements } = normaliseRequirements(body as never);
    expect(version).toBe(1);
    expect(requirements[0]).toMatchObject({ amount: '1000000', resource: 'https://x/api/mint/0x1', extra: undefined });
  });
});
