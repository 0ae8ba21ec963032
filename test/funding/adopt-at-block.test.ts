import { describe, expect, it } from 'vitest';
import { getDb } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { authorizationToJson } from '@/lib/chain/eip3009';
import { getUsdcDomain } from '@/lib/chain/usdc';
import { AppError } from '@/lib/errors';
import { adoptTransfer, authorizationOf } from '@/lib/funding/submitted-transfer';
import type { StoredFunding } from '@/lib/tasks/fund-checks';
import { chainClients, mined } from '../contracts/chain-helpers';
import { user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { frontRunAuthorization, signedPendingTask } from './helpers';

// A funding authorization whose nonce the chain shows used is adopted from its transfer's log,
// looked for up to the block the nonce was read at. A node whose logs stop short of that block
// (a load-balanced RPC's other node) once made the fund route answer 409 "used without paying
// this task" for a transfer that had paid it: no log yet is a 503 to post again; 409 only on the
// chain's evidence (a cancel, or a transfer that moved something else).

const stack = useTestStack({ env: { LOG_LEVEL: 'silent' } });

async function signedTask(userIndex: number) {
  const owner = user(userIndex);
  const {
    task,
    authorization: json,
    signature,
  } = await signedPendingTask(owner, stack.deployment.tokens[0]!.address, 2);
  const authorization = authorizationOf({ authorization: json, signature } as StoredFunding);
  const stored: StoredFunding = { authorization: authorizationToJson(authorization), signature };
  return { owner, task, json, authorization, stored, signature };
}

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as AppError,
  );

describe('adopting a used funding authorization at a block', () => {
  it('answers 503 while the logs stop short of the transfer, and funds the task from it at its block', async () => {
    const { task, json, authorization, stored, signature } = await signedTask(6);
    const hash = await frontRunAuthorization(stack.anvil.url, user(7), json, signature);
    const { blockNumber } = await mined(getPublicClient(), hash);

    const early = await errorOf(adoptTransfer(getDb(), task, authorization, stored, blockNumber - 1n));
    expect(early).toBeInstanceOf(AppError);
    expect([early!.status, early!.code]).toEqual([503, 'unavailable:chain']);
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');

    const settled = await adoptTransfer(getDb(), task, authorization, stored, blockNumber);
    expect(settled.state).toBe('settled');
    const funded = (await getTaskById({ id: task.id }))!;
    expect([funded.status, funded.fundingTxHash]).toEqual(['funded', hash]);
  });

  it('answers 409 for an authorization its owner cancelled (its AuthorizationCanceled log)', async () => {
    const { owner, task, authorization, stored } = await signedTask(5);
    const cancelSignature = await owner.signTypedData({
      domain: await getUsdcDomain(),
      types: {
        CancelAuthorization: [
          { name: 'authorizer', type: 'address' },
          { name: 'nonce', type: 'bytes32' },
        ],
      },
      primaryType: 'CancelAuthorization',
      message: { authorizer: owner.address, nonce: authorization.nonce },
    });
    const { walletFor } = chainClients(stack.anvil.url);
    const { blockNumber } = await mined(
      getPublicClient(),
      await walletFor(user(7)).writeContract({
        address: getKnownContracts().usdc,
        abi: testUSDCAbi,
        functionName: 'cancelAuthorization',
        args: [owner.address, authorization.nonce, cancelSignature],
      }),
    );

    const refused = await errorOf(adoptTransfer(getDb(), task, authorization, stored, blockNumber));
    expect([refused!.status, refused!.code]).toEqual([409, 'conflict:fund']);
    expect(refused!.message).toMatch(/used or cancelled on chain without paying this task/);
    expect((await getTaskById({ id: task.id }))!.status).toBe('pending_payment');
  });
});
