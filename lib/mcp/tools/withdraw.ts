import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { formatUnits, parseUnits } from 'viem';
import { AppError } from '../../errors';
import { enforceRateLimits } from '../../rate-limit';
import { withdrawRefundable } from '../../wallets/withdraw';
import type { McpContext } from '../context';
import { registerKeyedTool } from '../tool-kit';
import { withdrawInput } from './inputs';

const WITHDRAW_LIMIT = { limit: 10, windowMs: 60_000 };
const USDC_AMOUNT = /^\d{1,12}(\.\d{1,6})?$/;

function parseAmount(amountUsdc: string | undefined): bigint | undefined {
  if (amountUsdc === undefined) return undefined;
  const trimmed = amountUsdc.trim();
  if (!USDC_AMOUNT.test(trimmed) || parseUnits(trimmed, 6) === 0n)
    throw new AppError(
      'bad_request:withdraw',
      'amountUsdc must be a positive USDC amount such as "2.5" (at most 6 decimals).',
    );
  return parseUnits(trimmed, 6);
}

export function registerWithdrawTool(server: McpServer, ctx: McpContext) {
  registerKeyedTool(
    server,
    ctx,
    'withdraw',
    {
      description:
        "Send USDC the user's agent wallet does not need for running tasks back to the user's own wallet address — the only place it can go: no tool takes another recipient. Omit amountUsdc to send everything refundable.",
      inputSchema: withdrawInput,
      annotations: { title: 'Withdraw to the owner', destructiveHint: false },
      scope: 'withdraw',
      verb: 'withdraw',
    },
    async ({ amountUsdc }, caller) => {
      const amount = parseAmount(amountUsdc);
      // The withdraw route's per-user limit: the page and every assistant of the user share it.
      await enforceRateLimits([{ key: `withdraw:address:${caller.userAddress.toLowerCase()}`, ...WITHDRAW_LIMIT }]);
      const result = await withdrawRefundable({ userAddress: caller.userAddress, amount });
      return {
        txHash: result.txHash,
        amount: result.amount.toString(),
        amountUsdc: formatUnits(result.amount, 6),
        to: caller.userAddress,
      };
    },
  );
}
