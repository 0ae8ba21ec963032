import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeErrorResult,
  decodeFunctionData,
  encodeFunctionData,
  erc20Abi,
  parseEther,
  parseEventLogs,
  parseUnits,
  type Address,
  type Hex,
  type LocalAccount,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { detectBatchSupport } from '@/lib/chain/batch-support';
import {
  BATCH_MODE,
  delegationCode,
  encodeBatchExecute,
  failedCallsOf,
  isDelegatedTo,
  type BatchCall,
} from '@/lib/chain/batch-calls';
import { agentBatchExecutorAbi, paidMintTokenAbi, testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { useTestStack } from '@/test/support/use-test-stack';
import { chainClients, mined, randomNonce, revertOf, signMint } from './chain-helpers';
import { signAuthorization, signCancel } from './usdc-auth';

let c: ReturnType<typeof chainClients>;
let usdc: Address;
let token: Address;
let executor: Address;
let signer: LocalAccount;
const funder = anvilAccount(0); // TestUSDC's owner
const user = anvilAccount(7);
const PRICE = parseUnits('0.1', 6);

/** A fresh agent-like EOA with ETH for gas and 10 USDC. */
async function freshAgent() {
  const agent = privateKeyToAccount(generatePrivateKey());
  await mined(c.publicClient, await c.walletFor(funder).sendTransaction({ to: agent.address, value: parseEther('1') }));
  await mined(
    c.publicClient,
    await c.walletFor(funder).writeContract({
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [agent.address, parseUnits('10', 6)],
    }),
  );
  return agent;
}

async function mintCall(
  payer: Address,
  { mintId = randomNonce(), by = signer } = {},
): Promise<BatchCall & { mintId: Hex }> {
  const { v, r, s } = await signMint(c.publicClient, by, token, { payer, to: user.address, mintId });
  const data = encodeFunctionData({
    abi: paidMintTokenAbi,
    functionName: 'mint',
    args: [user.address, mintId, v, r, s],
  });
  return { to: token, data, mintId };
}

const approveCall = (amount: bigint): BatchCall => ({
  to: usdc,
  data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [token, amount] }),
});

/** Sends `calls` as one transaction from the agent to itself, installing the delegation on the way when `authorize`. */
async function sendBatch(
  agent: LocalAccount,
  calls: BatchCall[],
  { authorize = false, selfExecutor = true, mode = BATCH_MODE.try as Hex } = {},
) {
  const wallet = c.walletFor(agent);
  const authorizationList = authorize
    ? [
        await wallet.signAuthorization({
          contractAddress: executor,
          ...(selfExecutor ? { executor: 'self' as const } : {}),
        }),
      ]
    : undefined;
  return c.publicClient.waitForTransactionReceipt({
    hash: await wallet.sendTransaction({
      to: agent.address,
      data: encodeBatchExecute(calls, mode),
      authorizationList,
      gas: 1_500_000n,
    }),
  });
}

const stack = useTestStack();

beforeAll(() => {
  c = chainClients(stack.anvil.url);
  usdc = stack.deployment.usdc;
  token = stack.deployment.tokens[0]!.address;
  executor = stack.deployment.batchExecutor!;
  signer = privateKeyToAccount(stack.keys.operatorPrivateKey as Hex);
});

describe('AgentBatchExecutor (EIP-7702)', () => {
  it('is deployed with the local stack and supports exactly the revert-all and try batch modes', async () => {
    expect(executor).toMatch(/^0x[0-9a-fA-F]{40}$/);
    const supports = (mode: Hex) =>
      c.publicClient.readContract({
        address: executor,
        abi: agentBatchExecutorAbi,
        functionName: 'supportsExecutionMode',
        args: [mode],
      });
    expect(await supports(BATCH_MODE.revertAll)).toBe(true);
    expect(await supports(BATCH_MODE.try)).toBe(true);
    expect(await supports(`0x00${'00'.repeat(31)}`)).toBe(false); // single call
    expect(await supports(`0xff${'00'.repeat(31)}`)).toBe(false); // delegatecall
  });

  it('installs with the first batch, runs [approve, mint × N] as the agent, and reports a failing mint by index without sinking the rest', async () => {
    const agent = await freshAgent();
    const nonceBefore = await c.publicClient.getTransactionCount({ address: agent.address });
    const good = [await mintCall(agent.address), await mintCall(agent.address)];
    const badSignature = await mintCall(agent.address, { by: privateKeyToAccount(generatePrivateKey()) });
    const receipt = await sendBatch(agent, [approveCall(3n * PRICE), good[0]!, badSignature, good[1]!], {
      authorize: true,
    });

    expect(receipt.status).toBe('success');
    expect(isDelegatedTo(await c.publicClient.getCode({ address: agent.address }), executor)).toBe(true);
    expect(await c.publicClient.getCode({ address: agent.address })).toBe(delegationCode(executor));
    // executor: 'self' — the transaction and the authorization each use one nonce.
    expect(await c.publicClient.getTransactionCount({ address: agent.address })).toBe(nonceBefore + 2);
    const minted = parseEventLogs({ abi: paidMintTokenAbi, eventName: 'Minted', logs: receipt.logs });
    expect(minted.map((l) => l.args.mintId)).toEqual(good.map((g) => g.mintId));
    const failed = failedCallsOf(receipt.logs, agent.address);
    expect([...failed.keys()]).toEqual([2]);
    expect(decodeErrorResult({ abi: paidMintTokenAbi, data: failed.get(2)! }).errorName).toBe('InvalidMintSignature');

    // A later batch is a plain transaction to itself; a used mintId fails alone.
    const next = await mintCall(agent.address);
    const again = await sendBatch(agent, [good[0]!, next]);
    expect(again.status).toBe('success');
    expect(
      parseEventLogs({ abi: paidMintTokenAbi, eventName: 'Minted', logs: again.logs }).map((l) => l.args.mintId),
    ).toEqual([next.mintId]);
    expect(
      decodeErrorResult({ abi: paidMintTokenAbi, data: failedCallsOf(again.logs, agent.address).get(0)! }).errorName,
    ).toBe('MintIdUsed');
  });

  it("a delegated agent still signs EIP-3009 as its own key (ERC-1271): a transfer and a cancel verify, a stranger's signature does not", async () => {
    const agent = await freshAgent();
    await sendBatch(agent, [approveCall(0n)], { authorize: true });
    expect(isDelegatedTo(await c.publicClient.getCode({ address: agent.address }), executor)).toBe(true);
    const payee = privateKeyToAccount(generatePrivateKey()).address;
    const authorization = (nonce: Hex) => ({
      from: agent.address,
      to: payee,
      value: 1000n,
      validAfter: 0n,
      validBefore: BigInt(Math.floor(Date.now() / 1000) + 600),
      nonce,
    });
    const transfer = async (by: LocalAccount, nonce: Hex) => {
      const terms = authorization(nonce);
      const signature = await signAuthorization(by, usdc, 'TransferWithAuthorization', terms);
      return c.walletFor(funder).writeContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'transferWithAuthorization',
        args: [terms.from, terms.to, terms.value, terms.validAfter, terms.validBefore, terms.nonce, signature],
      });
    };

    // USDC's SignatureChecker asks the delegated account (it has code); the executor answers for its key.
    await mined(c.publicClient, await transfer(agent, randomNonce()));
    expect(
      await c.publicClient.readContract({ address: usdc, abi: testUSDCAbi, functionName: 'balanceOf', args: [payee] }),
    ).toBe(1000n);
    expect((await revertOf(transfer(privateKeyToAccount(generatePrivateKey()), randomNonce()))).reason).toMatch(
      /invalid signature/,
    );

    const nonce = randomNonce();
    const cancel = await signCancel(agent, usdc, { authorizer: agent.address, nonce });
    await mined(
      c.publicClient,
      await c.walletFor(funder).writeContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'cancelAuthorization',
        args: [agent.address, nonce, cancel],
      }),
    );
    expect(
      await c.publicClient.readContract({
        address: usdc,
        abi: testUSDCAbi,
        functionName: 'authorizationState',
        args: [agent.address, nonce],
      }),
    ).toBe(true);
  });

  it('revert-all mode sinks the whole batch on one failure', async () => {
    const agent = await freshAgent();
    const good = await mintCall(agent.address);
    const bad = await mintCall(agent.address, { by: privateKeyToAccount(generatePrivateKey()) });
    const receipt = await sendBatch(agent, [approveCall(PRICE * 2n), good, bad], {
      authorize: true,
      mode: BATCH_MODE.revertAll,
    });
    expect(receipt.status).toBe('reverted');
    expect(
      await c.publicClient.readContract({
        address: token,
        abi: paidMintTokenAbi,
        functionName: 'usedMintIds',
        args: [good.mintId],
      }),
    ).toBe(false);
  });

  it('an authorization signed without executor "self" is skipped silently: the transaction succeeds and does nothing', async () => {
    const agent = await freshAgent();
    const mint = await mintCall(agent.address);
    const receipt = await sendBatch(agent, [approveCall(PRICE), mint], { authorize: true, selfExecutor: false });
    expect(receipt.status).toBe('success');
    expect(await c.publicClient.getCode({ address: agent.address })).toBeUndefined();
    expect(parseEventLogs({ abi: paidMintTokenAbi, eventName: 'Minted', logs: receipt.logs })).toHaveLength(0);
    expect(
      await c.publicClient.readContract({
        address: token,
        abi: paidMintTokenAbi,
        functionName: 'usedMintIds',
        args: [mint.mintId],
      }),
    ).toBe(false);
  });

  it('only the delegating account itself may execute; ETH top-ups still arrive', async () => {
    const agent = await freshAgent();
    await sendBatch(agent, [approveCall(0n)], { authorize: true });
    const stranger = anvilAccount(8);
    const { args } = decodeFunctionData({
      abi: agentBatchExecutorAbi,
      data: encodeBatchExecute([
        {
          to: usdc,
          data: encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [stranger.address, 1n] }),
        },
      ]),
    });
    for (const at of [agent.address, executor]) {
      const revert = await revertOf(
        c.publicClient.simulateContract({
          account: stranger.address,
          address: at,
          abi: agentBatchExecutorAbi,
          functionName: 'execute',
          args: args as [Hex, Hex],
        }),
      );
      expect(revert.errorName).toBe('AccountUnauthorized');
    }
    const before = await c.publicClient.getBalance({ address: agent.address });
    const topUp = await mined(
      c.publicClient,
      await c.walletFor(funder).sendTransaction({ to: agent.address, value: parseEther('0.01') }),
    );
    expect(await c.publicClient.getBalance({ address: agent.address })).toBe(before + parseEther('0.01'));
    // A transfer to a delegated account runs receive() and costs more than 21,000 gas: top-ups must not hard-code it.
    expect(topUp.gasUsed).toBeGreaterThan(21_000n);
  });

  it('MINT_EXECUTION=auto detects EIP-7702 support once, by a read-only call through a delegation designator', async () => {
    expect(await detectBatchSupport(c.publicClient, executor)).toMatchObject({ supported: true });
    expect(await detectBatchSupport(c.publicClient, undefined)).toMatchObject({
      supported: false,
      reason: expect.stringMatching(/no batch executor/),
    });
    expect(await detectBatchSupport(c.publicClient, user.address)).toMatchObject({
      supported: false,
      reason: expect.stringMatching(/no code/),
    });
    // A contract that is not our executor answers nothing sensible through the designator.
    expect(await detectBatchSupport(c.publicClient, usdc)).toMatchObject({ supported: false });
  });
});
