import { formatUnits, parseUnits } from 'viem';
import { getConfig } from '../config';
import { AppError } from '../errors';

/**
 * Refuses a task worth less than MIN_TASK_VALUE_USDC in total: the operator pays the gas to fund
 * and run every task, so a task of a few base units would be all cost and no purchase (the
 * probe's hostile task cost 2 base units). The message names the smallest quantity that passes.
 */
export function checkMinTaskValue({ pricePerMint, quantity }: { pricePerMint: bigint; quantity: number }) {
  const minimum = parseUnits(getConfig().minTaskValueUsdc, 6);
  const total = pricePerMint * BigInt(quantity);
  if (total >= minimum) return;
  const least = pricePerMint > 0n ? (minimum + pricePerMint - 1n) / pricePerMint : undefined;
  const hint = least !== undefined && least <= 1000n ? ` Ask for at least ${least} mints.` : '';
  throw new AppError(
    'bad_request:task',
    `A task must cost at least ${formatUnits(minimum, 6)} USDC; this one would cost ${formatUnits(total, 6)} USDC.${hint}`,
    {
      details: {
        minimumUsdc: minimum.toString(),
        totalCost: total.toString(),
        ...(least !== undefined ? { minimumQuantity: Number(least) } : {}),
      },
    },
  );
}
