import { randomBytes } from 'node:crypto';
import { parseEventLogs, type Address, type Hex, type LocalAccount, type PublicClient } from 'viem';
import { POST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { getUsdcDomain } from '@/lib/chain/usdc';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from '@/lib/chain/eip3009';
import type { TaskWithAgent } from '@/db/tasks';

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

/** Calls the fund route handler exactly as Next would. */
export async function postFund(taskId: string, body: unknown, init: { raw?: string; contentType?: string } = {}) {
  const res = await POST(
    new Request(`http://localhost/api/ai-agent/task/${taskId}/fund`, {
      method: 'POST',
      headers: { 'content-type': init.contentType ?? 'application/json' },
      body: init.raw ?? JSON.stringify(body),
    }),
    { params: Promise.resolve({ taskId }) },
  );
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export const usdcBalance = (account: Address) =>
  getPublicClient().readContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [account],
  });

/** All AuthorizationUsed events of `from` with `nonce` on the chain so far. */
export async function authorizationUses(client: PublicClient, from: Address, nonce: Hex) {
  const logs = await client.getLogs({ address: getKnownContracts().usdc, fromBlock: 0n, toBlock: 'latest' });
  return parseEventLogs({ abi: testUSDCAbi, eventName: 'AuthorizationUsed', logs }).filter(
    (l) => l.args.authorizer.toLowerCase() === from.toLowerCase() && l.args.nonce.toLowerCase() === nonce.toLowerCase(),
  );
}
