import { parseGwei, type PublicClient } from 'viem';
import { TransientChainError } from './revert-reasons';

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
export type FeeQuote = Fees & { baseFee: bigint };

/** A quote's transaction fields (the base fee is not one: spread into a transaction it would ride along). */
export const feesOf = ({ maxFeePerGas, maxPriorityFeePerGas }: Fees): Fees => ({ maxFeePerGas, maxPriorityFeePerGas });

export const gweiToWei = (gwei: number) => parseGwei(String(gwei));

/**
 * EIP-1559 fees for the next batch: maxFee = 2 × base fee + tip. The base fee can rise 12.5%
 * per full block, so 2× survives ~6 full blocks in a row before a transaction would stall,
 * while the sender still only pays base fee + tip. Capped at MAX_FEE_GWEI; when the base fee
 * alone is at the cap nothing could be mined, so that is a transient condition (wait, retry).
 */
export async function quoteFees(client: PublicClient, { maxFeeGwei }: { maxFeeGwei: number }): Promise<FeeQuote> {
  const [block, tip] = await Promise.all([
    client.getBlock({ blockTag: 'latest' }),
    client.estimateMaxPriorityFeePerGas(),
  ]);
  return feesFor({ baseFee: block.baseFeePerGas ?? 0n, tip, capWei: gweiToWei(maxFeeGwei) });
}

export function feesFor({ baseFee, tip, capWei }: { baseFee: bigint; tip: bigint; capWei: bigint }): FeeQuote {
  if (baseFee >= capWei) {
    throw new TransientChainError(
      'fee_cap',
      `base fee ${baseFee} wei is at or above the MAX_FEE_GWEI cap (${capWei} wei); waiting`,
    );
  }
  const maxFeePerGas = min(baseFee * 2n + tip, capWei);
  return { baseFee, maxFeePerGas, maxPriorityFeePerGas: min(tip, maxFeePerGas - baseFee) };
}

/** Geth and anvil refuse a replacement unless both fees rise by at least 10%. */
export const MIN_REPLACEMENT_BUMP_PERCENT = 10n;
/** We bump by 12.5%: the 10% floor plus headroom for rounding, and one base-fee step. */
export const REPLACEMENT_BUMP_PER_MILLE = 1125n;

/**
 * Fees for a replacement of a stuck transaction (same nonce), or undefined when the cap does
 * not leave room for the 10% the node demands, in which case we keep waiting for the original.
 */
export function bumpFees(
  previous: Fees,
  { capWei, baseFee = 0n }: { capWei: bigint; baseFee?: bigint },
): Fees | undefined {
  const up = (v: bigint) => ceilDiv(v * REPLACEMENT_BUMP_PER_MILLE, 1000n) + 1n;
  const maxPriorityFeePerGas = up(previous.maxPriorityFeePerGas);
  const maxFeePerGas = min(max(up(previous.maxFeePerGas), baseFee * 2n + maxPriorityFeePerGas), capWei);
  const floor = (v: bigint) => ceilDiv(v * (100n + MIN_REPLACEMENT_BUMP_PERCENT), 100n);
  if (maxFeePerGas < floor(previous.maxFeePerGas) || maxFeePerGas < maxPriorityFeePerGas) return undefined;
  return { maxFeePerGas, maxPriorityFeePerGas };
}

/**
 * The seed's "dynamic batch size": when gas is expensive (base fee above HIGH_BASE_FEE_GWEI)
 * the batch halves (never below 1), so fewer mints are committed at a price that may fall.
 * `config`: the worker's settings (MINT_BATCH_SIZE, HIGH_BASE_FEE_GWEI).
 */
export function batchSizeFor(
  { batchSize, highBaseFeeGwei }: { batchSize: number; highBaseFeeGwei: number },
  { remaining, baseFee }: { remaining: number; baseFee: bigint },
): number {
  const size = baseFee > gweiToWei(highBaseFeeGwei) ? Math.max(1, Math.floor(batchSize / 2)) : batchSize;
  return Math.max(0, Math.min(size, remaining));
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
