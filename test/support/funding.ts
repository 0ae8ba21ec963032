import { randomBytes } from 'node:crypto';
import type { Address, Hex, LocalAccount } from 'viem';
import type { TaskWithAgent } from '@/db/tasks';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from '@/lib/chain/eip3009';
import { getUsdcDomain } from '@/lib/chain/usdc';

export type AuthorizationJson = {
  from: Address;
  to: Address;
  value: string;
  validAfter: string | number;
  validBefore: string | number;
  nonce: Hex;
};

export const randomNonce = () => `0x${randomBytes(32).toString('hex')}` as Hex;
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The authorization a well-behaved client would send for `task`, with optional overrides. */
export function authorizationFor(task: TaskWithAgent, overrides: Partial<AuthorizationJson> = {}): AuthorizationJson {
  return {
    from: task.userAddress as Address,
    to: task.agentAddress as Address,
    value: task.totalCost,
    validAfter: '0',
    validBefore: String(nowSeconds() + 3600),
    nonce: randomNonce(),
    ...overrides,
  };
}

export async function signAuthorization(
  account: LocalAccount,
  a: AuthorizationJson,
  domainOverride: Partial<Awaited<ReturnType<typeof getUsdcDomain>>> = {},
) {
  return account.signTypedData({
    domain: { ...(await getUsdcDomain()), ...domainOverride },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      from: a.from,
      to: a.to,
      value: BigInt(a.value),
      validAfter: BigInt(a.validAfter),
      validBefore: BigInt(a.validBefore),
      nonce: a.nonce,
    },
  });
}
