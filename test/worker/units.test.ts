import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  HttpRequestError,
  parseGwei,
  TimeoutError,
  type Hex,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { batchSizeFor, bumpFees, feesFor, feesOf } from '@/lib/chain/fees';
import { classifyChainError, TransientChainError } from '@/lib/chain/revert-reasons';
import { progressBar } from '@/worker/reporter';
import { backoffMs } from '@/worker/sleep';

const revertData = (errorName: string, args?: readonly unknown[]) =>
  encodeErrorResult({ abi: paidMintTokenAbi, errorName: errorName as never, args: args as never });

function contractRevert(data: Hex) {
  const cause = new ContractFunctionRevertedError({ abi: paidMintTokenAbi, data, functionName: 'mint' });
  return new ContractFunctionExecutionError(cause, { abi: paidMintTokenAbi, functionName: 'mint', args: [] });
}

describe('classifyChainError', () => {
  it.each([
    ['MintCapReached', [100n], 'supply_exhausted', /supply is exhausted/],
    ['ERC20InsufficientAllowance', ['0x0000000000000000000000000000000000000001', 0n, 1n], 'allowance', /allowance/],
    ['ERC20InsufficientBalance', ['0x0000000000000000000000000000000000000001', 0n, 1n], 'balance', /enough USDC/],
    ['InvalidMintSignature', undefined, 'bad_signature', /signature/],
    ['EnforcedPause', undefined, 'paused', /paused/],
  ] as const)('decodes %s from a viem contract error', (name, args, reason, message) => {
    const result = classifyChainError(contractRevert(revertData(name, args)));
    expect(result).toMatchObject({ kind: 'revert', reason });
    expect(result.message).toMatch(message);
  });

  it('decodes raw revert data found in an RPC error cause', () => {
    const error = new Error('execution reverted', {
      cause: { code: 3, message: 'execution reverted', data: revertData('EnforcedPause') },
    });
    expect(classifyChainError(error)).toMatchObject({ kind: 'revert', reason: 'paused' });
  });

  it.each([
    [
      new HttpRequestError({
        url: 'http://127.0.0.1:8545',
        details: 'fetch failed',
        cause: new Error('connect ECONNREFUSED 127.0.0.1:8545'),
      }),
      'connection',
    ],
    [new HttpRequestError({ url: 'http://127.0.0.1:8545', status: 429, details: 'Too Many Requests' }), 'rate_limited'],
    [new TimeoutError({ body: {}, url: 'http://127.0.0.1:8545' }), 'timeout'],
    [new Error('nonce too low: next nonce 7, tx nonce 5'), 'nonce'],
    [new Error('already known'), 'already_known'],
    [new Error('replacement transaction underpriced'), 'underpriced'],
    [new TransientChainError('fee_cap', 'base fee above cap'), 'fee_cap'],
  ])('treats %s as transient', (error, reason) => {
    expect(classifyChainError(error)).toMatchObject({ kind: 'transient', reason });
  });

  it('does not mistake a port number for a 429', () => {
    const error = new HttpRequestError({
      url: 'http://127.0.0.1:42953',
      details: 'fetch failed',
      cause: new Error('ECONNREFUSED'),
    });
    expect(classifyChainError(error)).toMatchObject({ kind: 'transient', reason: 'connection' });
  });

  it('counts insufficient gas funds and unknown errors as attempts, not transient', () => {
    expect(classifyChainError(new Error('insufficient funds for gas * price + value'))).toMatchObject({
      kind: 'revert',
      reason: 'gas_funds',
    });
    expect(classifyChainError(new TypeError('x is undefined'))).toMatchObject({ kind: 'revert', reason: 'unknown' });
  });
});

describe('fees and batch size', () => {
  const cap = parseGwei('100');

  it('quotes 2 × base fee + tip, capped, and waits when the base fee alone reaches the cap', () => {
    expect(feesFor({ baseFee: parseGwei('1'), tip: parseGwei('0.1'), capWei: cap })).toEqual({
      baseFee: parseGwei('1'),
      maxFeePerGas: parseGwei('2.1'),
      maxPriorityFeePerGas: parseGwei('0.1'),
    });
    expect(feesFor({ baseFee: parseGwei('60'), tip: parseGwei('2'), capWei: cap }).maxFeePerGas).toBe(cap);
    expect(() => feesFor({ baseFee: parseGwei('100'), tip: 1n, capWei: cap })).toThrow(TransientChainError);
  });

  it("takes a quote's transaction fields without its base fee", () => {
    const quote = feesFor({ baseFee: parseGwei('1'), tip: parseGwei('0.1'), capWei: cap });
    expect(feesOf(quote)).toEqual({ maxFeePerGas: parseGwei('2.1'), maxPriorityFeePerGas: parseGwei('0.1') });
    expect(Object.keys(feesOf(quote))).not.toContain('baseFee');
  });

  it('bumps a stuck transaction by 12.5% (at least the 10% nodes require), within the cap', () => {
    const bumped = bumpFees({ maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: parseGwei('1') }, { capWei: cap })!;
    expect(bumped.maxFeePerGas * 1000n).toBeGreaterThanOrEqual(parseGwei('10') * 1125n);
    expect(bumped.maxPriorityFeePerGas * 1000n).toBeGreaterThanOrEqual(parseGwei('1') * 1125n);
    expect(bumped.maxFeePerGas).toBeLessThan(parseGwei('11.3'));
    // Follows a risen base fee.
    expect(
      bumpFees(
        { maxFeePerGas: parseGwei('10'), maxPriorityFeePerGas: parseGwei('1') },
        { capWei: cap, baseFee: parseGwei('20') },
      )!.maxFeePerGas,
    ).toBeGreaterThan(parseGwei('40'));
    // At the cap there is no room for a valid replacement: keep waiting instead.
    expect(
      bumpFees({ maxFeePerGas: parseGwei('95'), maxPriorityFeePerGas: parseGwei('1') }, { capWei: cap }),
    ).toBeUndefined();
    expect(
      bumpFees({ maxFeePerGas: parseGwei('90'), maxPriorityFeePerGas: parseGwei('1') }, { capWei: cap })!.maxFeePerGas,
    ).toBe(cap);
  });

  it('halves the batch when the base fee is high, never below 1, never above what remains', () => {
    expect(batchSizeFor({ batchSize: 10, highBaseFeeGwei: 20 }, { remaining: 100, baseFee: parseGwei('1') })).toBe(10);
    expect(batchSizeFor({ batchSize: 10, highBaseFeeGwei: 20 }, { remaining: 100, baseFee: parseGwei('21') })).toBe(5);
    expect(batchSizeFor({ batchSize: 1, highBaseFeeGwei: 20 }, { remaining: 100, baseFee: parseGwei('21') })).toBe(1);
    expect(batchSizeFor({ batchSize: 10, highBaseFeeGwei: 20 }, { remaining: 3, baseFee: parseGwei('1') })).toBe(3);
  });

  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffMs(a, 250, 5000))).toEqual([250, 500, 1000, 2000, 5000]);
  });

  it('draws the operator progress bar', () => {
    expect(progressBar(25, 100, 20)).toBe(`[${'█'.repeat(5)}${'░'.repeat(15)}] 25/100 (25%)`);
  });
});
