import {
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_MODE, delegationCode, encodeBatchExecute, type BatchCall } from '@/lib/chain/batch-calls';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { createMintAuthorizer, encodeMintCall } from '@/lib/chain/mint-signature';
import { authorize } from '@/worker/contract/authorizations';
import { estimateBatchGas } from '@/worker/contract/eip7702-gas';
import { batchGasLimit, loadRuntime, startContractRun } from '@/worker/contract/runtime';
import { Reporter } from '@/worker/reporter';
import { user } from '../support/fixtures';
import { startTestStack, type TestStack } from '../support/stack';
import { createFundedTask } from './support';

// A batch's gas limit is base + perMint × N, perMint the difference of two estimates (one mint,
// two mints). Found by CI: another task's first mint of the same token, mined between the two,
// took the slots every mint writes from zero to non-zero, so the pair was estimated ~34,000 gas
// cheaper than it was against the state the single one saw; perMint came out about half a mint
// and every batch of the run ran out of gas. Here that mint is mined between them on purpose.

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ env: { MINT_EXECUTION: 'batch', LOG_LEVEL: 'silent' } });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
}, 30_000);

/** The token's first mint ever, by another payer: user 3 pays for it and mints to itself. */
async function mintByAnother(token: Address) {
  const payer = user(3);
  const client = getPublicClient();
  const wallet = createWalletClient({ account: payer, chain: getChain(), transport: http(stack.env.RPC_URL) });
  const price = await client.readContract({ address: token, abi: paidMintTokenAbi, functionName: 'pricePerMint' });
  await client.waitForTransactionReceipt({
    hash: await wallet.writeContract({
      address: stack.deployment.usdc,
      abi: erc20Abi,
      functionName: 'approve',
      args: [token, price],
    }),
  });
  const authorizer = await createMintAuthorizer(client, { address: token, chainId: getChain().id });
  const mintId = `0x${randomBytes(32).toString('hex')}` as Hex;
  const signature = await authorizer.sign({ payer: payer.address, to: payer.address, mintId });
  const receipt = await client.waitForTransactionReceipt({
    hash: await wallet.sendTransaction({ to: token, data: encodeMintCall(payer.address, mintId, signature) }),
  });
  expect(receipt.status).toBe('success');
}

describe('batch gas estimate', () => {
  it("holds for a full batch when another task's first mint of the token is mined between its two estimates", async () => {
    const token = stack.deployment.tokens[0]!.address;
    const task = await createFundedTask(stack, { userIndex: 1, quantity: 5 });
    const run = startContractRun(task, {
      workerId: 'gas-estimate-test',
      reporter: new Reporter({ pretty: false }),
      drain: new AbortController().signal,
      stop: new AbortController().signal,
    });
    const rt = await loadRuntime(run);
    const agent = rt.task.agentAddress;
    const approval: BatchCall[] = [
      {
        to: rt.usdc,
        data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [token, BigInt(task.totalCost)] }),
      },
    ];
    const mintCalls: BatchCall[] = [];
    for (const seq of [1, 2, 3, 4, 5]) mintCalls.push({ to: token, data: (await authorize(rt, seq)).data });
    const asDelegated = [{ address: agent, code: delegationCode(rt.batchExecutor!) }];

    // The worker's client, except that the two-mint estimate waits for the one-mint estimate's
    // answer and then for another payer's mint to be mined.
    const client = rt.client;
    let first: Promise<unknown> | undefined;
    rt.client = new Proxy(client, {
      get(target, key, receiver) {
        if (key !== 'estimateGas') return Reflect.get(target, key, receiver);
        return async (args: Parameters<PublicClient['estimateGas']>[0]) => {
          if (!first) return (first = target.estimateGas(args));
          await first;
          await mintByAnother(token);
          return target.estimateGas(args);
        };
      },
    }) as PublicClient;
    await estimateBatchGas(rt, approval, mintCalls, asDelegated);
    expect(rt.batchGas).toBeDefined();

    // What the first batch of five takes now, against the chain as it is when the batch is sent.
    const needed = await client.estimateGas({
      account: agent,
      to: agent,
      data: encodeBatchExecute([...approval, ...mintCalls], BATCH_MODE.revertAll),
      stateOverride: asDelegated,
    });
    expect(batchGasLimit(rt, 5)).toBeGreaterThanOrEqual(needed);
    // And a mint's share is at least what one more mint adds to that batch.
    const four = await client.estimateGas({
      account: agent,
      to: agent,
      data: encodeBatchExecute([...approval, ...mintCalls.slice(0, 4)], BATCH_MODE.revertAll),
      stateOverride: asDelegated,
    });
    expect(rt.batchGas!.perMint).toBeGreaterThanOrEqual(needed - four);
  }, 90_000);
});
