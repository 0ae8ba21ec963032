import { concatHex, parseUnits, type Address, type Hex } from 'viem';
import { beforeAll, describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { chainClients, mined } from '../contracts/chain-helpers';
import { createPendingTask } from '../support/fixtures';
import { deployOwnerWallet } from '../support/contract-wallet';
import { useTestStack } from '../support/use-test-stack';
import { authorizationFor, postFund, signAuthorization, usdcBalance } from './helpers';

// An ERC-1271 wallet whose signatures are its owner's ECDSA signature followed by extra bytes
// (as many smart accounts add a validator id): longer than 65 bytes, valid only through the chain.

let wallet: Address;
const walletOwner = anvilAccount(2);

const stack = useTestStack();

beforeAll(async () => {
  const { walletFor } = chainClients(stack.anvil.url);
  const deployer = walletFor(anvilAccount(0));
  wallet = await deployOwnerWallet(stack.anvil.url, anvilAccount(0), walletOwner.address);
  await mined(
    getPublicClient(),
    await deployer.writeContract({
      address: getKnownContracts().usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [wallet, parseUnits('100', 6)],
    }),
  );
});

describe('funding from a contract wallet (ERC-1271)', () => {
  it('refuses a signature the wallet does not vouch for, then accepts a longer one it does', async () => {
    const task = await createPendingTask({
      userAddress: wallet,
      token: stack.deployment.tokens[0]!.address,
      quantity: 4,
    });
    const authorization = authorizationFor(task);
    const extra = `0x${'ab'.repeat(32)}` as Hex;
    const before = await usdcBalance(wallet);

    const stranger = await signAuthorization(anvilAccount(3), authorization);
    const refused = await postFund(task.id, { authorization, signature: concatHex([stranger, extra]) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/signature was not made by/);
    expect((await getTaskById({ id: task.id }))?.status).toBe('pending_payment');

    const signature = concatHex([await signAuthorization(walletOwner, authorization), extra]);
    const res = await postFund(task.id, { authorization, signature });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await usdcBalance(wallet)).toBe(before - BigInt(task.totalCost));
    expect(await usdcBalance(task.agentAddress as Address)).toBe(BigInt(task.totalCost));
    expect((await getTaskById({ id: task.id }))?.fundingTxHash).toBe(res.body.txHash);
  });
});
