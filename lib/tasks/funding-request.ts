import { randomBytes } from 'node:crypto';
import { getAddress, type Address, type Hex } from 'viem';
import { setFundingRequest, type TaskWithAgent } from '@/db/tasks';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from '../chain/eip3009';
import { getUsdcDomain, type UsdcDomain } from '../chain/usdc';
import { getConfig } from '../config';

/** How long a proposed authorization stays valid, and when a stored proposal is replaced. */
export const AUTHORIZATION_LIFETIME_SECONDS = 3600;
const REFRESH_WHEN_LEFT_SECONDS = 600;

/** EIP-712 typed data as JSON: uint256 values are decimal strings (convert to bigint to sign). */
export type FundingRequest = {
  domain: UsdcDomain;
  types: typeof TRANSFER_WITH_AUTHORIZATION_TYPES;
  primaryType: 'TransferWithAuthorization';
  message: { from: Address; to: Address; value: string; validAfter: string; validBefore: string; nonce: Hex };
};

/**
 * The typed data the owner signs to pay for a task, or null once it no longer awaits payment.
 * The proposal is stored so repeated reads show the same nonce until it nears expiry.
 */
export async function getFundingRequest(task: TaskWithAgent, now = Date.now()): Promise<FundingRequest | null> {
  if (task.status !== 'pending_payment') return null;
  const stored = task.fundingRequest as FundingRequest | null;
  const nowSeconds = Math.floor(now / 1000);
  // Never valid beyond the task's payment window: the worker cancels the task then, and an
  // authorization that outlived it could still move USDC for a cancelled task.
  const windowEnd = Math.floor(task.createdAt.getTime() / 1000) + getConfig().worker.paymentTimeoutSeconds;
  const validBefore = Math.min(windowEnd, nowSeconds + AUTHORIZATION_LIFETIME_SECONDS);
  if (stored) {
    const storedBefore = Number(stored.message.validBefore);
    if (storedBefore === windowEnd || storedBefore - nowSeconds > REFRESH_WHEN_LEFT_SECONDS) return stored;
  }

  const request: FundingRequest = {
    domain: await getUsdcDomain(),
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      from: getAddress(task.userAddress),
      to: getAddress(task.agentAddress),
      value: task.totalCost,
      validAfter: '0',
      validBefore: String(validBefore),
      nonce: `0x${randomBytes(32).toString('hex')}`,
    },
  };
  await setFundingRequest({ id: task.id, fundingRequest: request });
  return request;
}
