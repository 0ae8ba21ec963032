import { parseEventLogs, type Address, type Hex, type LocalAccount, type PublicClient } from 'viem';
import { POST } from '@/app/api/ai-agent/task/[taskId]/fund/route';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { chainClients } from '../contracts/chain-helpers';
import { authorizationFor, signAuthorization, type AuthorizationJson } from '../support/funding';
import { createPendingTask } from '../support/fixtures';

// Signing an owner's funding authorization is shared with the benchmarks: test/support/funding.ts.
export {
  authorizationFor,
  nowSeconds,
  randomNonce,
  signAuthorization,
  type AuthorizationJson,
} from '../support/funding';

/** A pending task of `owner` for `quantity` of `token`, and the funding authorization the owner signed for it. */
export async function signedPendingTask(owner: LocalAccount, token: Address, quantity: number) {
  const task = await createPendingTask({ userAddress: owner.address, token, quantity });
  const authorization = authorizationFor(task);
  return { task, authorization, signature: await signAuthorization(owner, authorization) };
}

/** Someone other than the fund route submits the owner's signed authorization to TestUSDC first (a front-run). */
export function frontRunAuthorization(
  rpcUrl: string,
  sender: LocalAccount,
  authorization: AuthorizationJson,
  signature: Hex,
  gas?: bigint,
) {
  return chainClients(rpcUrl)
    .walletFor(sender)
    .writeContract({
      address: getKnownContracts().usdc,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args: [
        authorization.from,
        authorization.to,
        BigInt(authorization.value),
        0n,
        BigInt(authorization.validBefore),
        authorization.nonce,
        signature,
      ],
      gas,
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
