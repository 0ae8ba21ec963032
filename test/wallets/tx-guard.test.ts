import { encodeFunctionData, erc20Abi, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { BATCH_MODE, encodeBatchExecute } from '@/lib/chain/batch-calls';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { MAX_BATCH_OVERHEAD_GAS, MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { checkAgentTransaction, createGuardedSigner, GuardError, type AgentPolicy } from '@/lib/wallets/tx-guard';

const addr = () => privateKeyToAccount(generatePrivateKey()).address;
const agentAccount = privateKeyToAccount(generatePrivateKey());
const policy: AgentPolicy = {
  agent: agentAccount.address,
  user: addr(),
  usdc: addr(),
  chainId: 31337,
  task: { token: addr(), remainingCost: 1_000_000n },
};
const stranger = addr();
const otherToken = addr();

const approve = (spender: Address, amount: bigint) =>
  encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [spender, amount] });
const transfer = (to: Address, amount: bigint) =>
  encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [to, amount] });
const mint = (to: Address) =>
  encodeFunctionData({
    abi: paidMintTokenAbi,
    functionName: 'mint',
    args: [to, `0x${'11'.repeat(32)}`, 27, `0x${'22'.repeat(32)}`, `0x${'33'.repeat(32)}`],
  });

/** The fields of a transaction the guarded signer signs, beside its `to`, `data` and `value`. */
const eip1559Envelope = {
  chainId: 31337,
  nonce: 0,
  gas: 100_000n,
  maxFeePerGas: 1n,
  maxPriorityFeePerGas: 1n,
  type: 'eip1559',
} as const;

const allowed = (tx: { to?: Address | null; data?: Hex; value?: bigint; gas?: bigint }) =>
  expect(() => checkAgentTransaction(policy, tx)).not.toThrow();
const refused = (tx: { to?: Address | null; data?: Hex; value?: bigint; gas?: bigint }, reason: RegExp) => {
  expect(() => checkAgentTransaction(policy, tx)).toThrow(GuardError);
  expect(() => checkAgentTransaction(policy, tx)).toThrow(reason);
};

describe('agent transaction guard', () => {
  it('approve of USDC to the task token: up to what the task still needs', () => {
    allowed({ to: policy.usdc, data: approve(policy.task!.token, 1_000_000n) });
    allowed({ to: policy.usdc, data: approve(policy.task!.token, 1n) });
    refused({ to: policy.usdc, data: approve(policy.task!.token, 1_000_001n) }, /exceeds/);
  });
  it('approve to a stranger or without a task is refused', () => {
    refused({ to: policy.usdc, data: approve(stranger, 1n) }, /only for the task token/);
    expect(() =>
      checkAgentTransaction({ ...policy, task: undefined }, { to: policy.usdc, data: approve(policy.task!.token, 1n) }),
    ).toThrow(GuardError);
  });
  it('USDC transfer back to the user only', () => {
    allowed({ to: policy.usdc, data: transfer(policy.user, 5n) });
    refused({ to: policy.usdc, data: transfer(stranger, 5n) }, /back to the wallet's user/);
    refused({ to: policy.usdc, data: transfer(policy.agent, 5n) }, /back to the wallet's user/);
  });
  it('other USDC functions are refused', () => {
    const transferFrom = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'transferFrom',
      args: [policy.user, stranger, 1n],
    });
    refused({ to: policy.usdc, data: transferFrom }, /transferFrom is not allowed/);
  });
  it('mint on the task token to the user only', () => {
    allowed({ to: policy.task!.token, data: mint(policy.user) });
    refused({ to: policy.task!.token, data: mint(policy.agent) }, /must go to the user/);
    refused({ to: policy.task!.token, data: mint(stranger) }, /must go to the user/);
    // Not the fixed-size shape (trailing bytes): checked by a full ABI decode instead, same rule.
    allowed({ to: policy.task!.token, data: `${mint(policy.user)}00` });
    refused({ to: policy.task!.token, data: `${mint(stranger)}00` }, /must go to the user/);
  });
  it('a task with a recipient (bought over x402 for it): mint to that recipient only, USDC and ETH still only to the user', () => {
    const recipient = addr();
    const forRecipient: AgentPolicy = { ...policy, task: { ...policy.task!, recipient }, batchExecutor: addr() };
    const ok = (tx: { to: Address; data?: Hex; value?: bigint }) =>
      expect(() => checkAgentTransaction(forRecipient, tx)).not.toThrow();
    const no = (tx: { to: Address; data?: Hex; value?: bigint }, reason: RegExp) =>
      expect(() => checkAgentTransaction(forRecipient, tx)).toThrow(reason);
    ok({ to: policy.task!.token, data: mint(recipient) });
    ok({ to: policy.task!.token, data: `${mint(recipient)}00` });
    for (const to of [policy.user, policy.agent, stranger, policy.task!.token]) {
      no({ to: policy.task!.token, data: mint(to) }, /minted tokens must go to the task's recipient/);
      no({ to: policy.task!.token, data: `${mint(to)}00` }, /minted tokens must go to the task's recipient/);
    }
    ok({
      to: policy.agent,
      data: encodeBatchExecute([{ to: policy.task!.token, data: mint(recipient) }], BATCH_MODE.try),
    });
    no(
      {
        to: policy.agent,
        data: encodeBatchExecute([{ to: policy.task!.token, data: mint(stranger) }], BATCH_MODE.try),
      },
      /batch call 0: minted tokens must go to the task's recipient/,
    );
    // The recipient gets the tokens, never the money: refunds go to the user who owns the task.
    ok({ to: policy.usdc, data: transfer(policy.user, 5n) });
    no({ to: policy.usdc, data: transfer(recipient, 5n) }, /back to the wallet's user/);
    no({ to: recipient, value: 1n }, /plain transfers/);
    no({ to: policy.usdc, data: approve(recipient, 1n) }, /only for the task token/);
  });
  it('calls to any other contract, even a mint on another token, are refused', () => {
    refused({ to: otherToken, data: mint(policy.user) }, /not allowed/);
    refused({ to: stranger, data: transfer(policy.user, 1n) }, /not allowed/);
    refused({ to: policy.task!.token, data: approve(stranger, 1n) }, /not allowed|unrecognised/);
    refused({ to: policy.usdc, data: '0xdeadbeef' }, /unrecognised call data/);
  });
  it('ETH: to the user only, never to a stranger, never with a contract call', () => {
    allowed({ to: policy.user, value: 1n });
    refused({ to: stranger, value: 1n }, /plain transfers/);
    refused({ to: policy.task!.token, data: mint(policy.user), value: 1n }, /may not carry ETH/);
  });
  describe("the sweep: the operator's ETH back to the operator, and nothing else", () => {
    const operator = addr();
    // The sweep's policy (lib/wallets/sweep.ts): no task, no executor, the operator set.
    const sweeping: AgentPolicy = { ...policy, task: undefined, operator };
    const check = (tx: { to?: Address | null; data?: Hex; value?: bigint }) => () =>
      checkAgentTransaction(sweeping, tx);

    it('allows a plain ETH transfer to the operator only under the sweep policy', () => {
      expect(check({ to: operator, value: 10n ** 15n })).not.toThrow();
      expect(check({ to: operator, data: '0x', value: 1n })).not.toThrow();
      // A task's policy knows no operator: the same transfer is refused.
      refused({ to: operator, value: 1n }, /plain transfers may only go to the wallet's user$/);
    });
    it('refuses ETH to anyone else: a stranger, the agent itself, the executor, a token, USDC', () => {
      for (const to of [stranger, policy.agent, addr(), policy.task!.token, policy.usdc])
        expect(check({ to, value: 1n }), to).toThrow(GuardError);
      expect(check({ to: stranger, value: 1n })).toThrow(/only go to the wallet's user or the operator/);
    });
    it('refuses a 0-value send, call data, or ETH with a call to the operator', () => {
      expect(check({ to: operator, value: 0n })).toThrow(/plain transfers/);
      expect(check({ to: operator, data: '0x12345678', value: 0n })).toThrow(/calls to .* are not allowed/);
      expect(check({ to: operator, data: transfer(operator, 1n), value: 1n })).toThrow(/may not carry ETH/);
      expect(check({ to: policy.usdc, data: transfer(operator, 1n) })).toThrow(/back to the wallet's user/);
    });
    it('refuses batches and delegations under the sweep policy, even with an executor configured', async () => {
      const executor = addr();
      const both = { ...sweeping, batchExecutor: executor };
      const batch = encodeBatchExecute([{ to: operator, data: '0x', value: 1n }], BATCH_MODE.revertAll);
      expect(() => checkAgentTransaction(both, { to: policy.agent, data: batch })).toThrow(/batches are not enabled/);
      const signer = createGuardedSigner(agentAccount, both);
      await expect(
        Promise.resolve().then(() => signer.signAuthorization({ address: executor, chainId: 31337, nonce: 1 })),
      ).rejects.toThrow(/delegation to .* is not allowed/);
    });
    it('signs the sweep, and refuses the same transfer to a stranger before signing', async () => {
      const signer = createGuardedSigner(agentAccount, sweeping);
      const tx = {
        type: 'eip1559',
        chainId: 31337,
        nonce: 3,
        gas: 21_000n,
        maxFeePerGas: 2n,
        maxPriorityFeePerGas: 1n,
        value: 5n,
      } as const;
      await expect(signer.signTransaction({ ...tx, to: operator })).resolves.toMatch(/^0x02/);
      await expect(Promise.resolve().then(() => signer.signTransaction({ ...tx, to: stranger }))).rejects.toThrow(
        /plain transfers/,
      );
    });
  });
  it('an empty 0-value send to the agent itself (a nonce filler), and no other self-send without a batch executor', () => {
    allowed({ to: policy.agent, value: 0n });
    allowed({ to: policy.agent, data: '0x', value: 0n });
    refused({ to: policy.agent, value: 1n }, /batch/);
    refused({ to: policy.agent, data: '0x12345678', value: 0n }, /batch/);
  });
  it('contract creation is refused', () => {
    refused({ to: null, data: '0x6080604052' }, /contract creation/);
    refused({ to: undefined, data: '0x6080604052' }, /contract creation/);
  });
  it('the guarded signer signs what is allowed and refuses the rest before signing', async () => {
    const signer = createGuardedSigner(agentAccount, policy);
    await expect(
      signer.signTransaction({ ...eip1559Envelope, to: policy.usdc, data: approve(policy.task!.token, 10n) }),
    ).resolves.toMatch(/^0x02/);
    // The refusal may be thrown synchronously or as a rejection; either way nothing is signed.
    const attempt = (tx: Parameters<typeof signer.signTransaction>[0]) =>
      Promise.resolve().then(() => signer.signTransaction(tx));
    await expect(attempt({ ...eip1559Envelope, to: policy.usdc, data: transfer(stranger, 10n) })).rejects.toThrow(
      GuardError,
    );
    await expect(attempt({ ...eip1559Envelope, to: stranger, value: 10n })).rejects.toThrow(GuardError);
    expect(() => createGuardedSigner(privateKeyToAccount(generatePrivateKey()), policy)).toThrow(
      /not the policy agent/,
    );
  });

  describe('batches (EIP-7702 delegation to the batch executor)', () => {
    const executor = addr();
    const batching: AgentPolicy = { ...policy, batchExecutor: executor };
    const batch = (calls: { to: Address; data: Hex; value?: bigint }[], mode: Hex = BATCH_MODE.try) => ({
      to: policy.agent,
      data: encodeBatchExecute(calls, mode),
    });
    const ok = (tx: { to?: Address; data?: Hex; value?: bigint }) =>
      expect(() => checkAgentTransaction(batching, tx)).not.toThrow();
    const no = (tx: { to?: Address; data?: Hex; value?: bigint }, reason: RegExp, p = batching) =>
      expect(() => checkAgentTransaction(p, tx)).toThrow(reason);

    it('a batch to the agent itself is allowed when every call in it is: [approve, mint × N], refunds', () => {
      ok(
        batch([
          { to: policy.usdc, data: approve(policy.task!.token, 1_000_000n) },
          { to: policy.task!.token, data: mint(policy.user) },
          { to: policy.task!.token, data: mint(policy.user) },
        ]),
      );
      ok(
        batch(
          [
            { to: policy.usdc, data: transfer(policy.user, 1n) },
            { to: policy.user, data: '0x', value: 5n },
          ],
          BATCH_MODE.revertAll,
        ),
      );
    });
    it('one disallowed call refuses the whole batch, naming its index', () => {
      no(
        batch([
          { to: policy.task!.token, data: mint(policy.user) },
          { to: policy.task!.token, data: mint(stranger) },
        ]),
        /batch call 1: minted tokens must go to the user/,
      );
      no(
        batch([{ to: policy.usdc, data: approve(policy.task!.token, 1_000_001n) }]),
        /batch call 0: approve of .* exceeds/,
      );
      no(batch([{ to: policy.usdc, data: transfer(stranger, 1n) }]), /batch call 0/);
      no(batch([{ to: stranger, data: '0x', value: 1n }]), /batch call 0: plain transfers/);
      no(batch([{ to: otherToken, data: mint(policy.user) }]), /batch call 0: calls to .* are not allowed/);
      no(
        batch([batch([{ to: policy.task!.token, data: mint(policy.user) }])].map((b) => ({ to: b.to, data: b.data }))),
        /may not call the agent itself/,
      );
    });
    it('refuses other modes, empty batches, ETH on the batch, other calls to the agent, and batches without an executor', () => {
      no(batch([{ to: policy.task!.token, data: mint(policy.user) }], `0xff${'00'.repeat(31)}`), /batch mode/);
      no(batch([]), /empty batch/);
      no({ ...batch([{ to: policy.task!.token, data: mint(policy.user) }]), value: 1n }, /without ETH/);
      no({ to: policy.agent, data: '0xdeadbeef' }, /unrecognised call to the agent itself/);
      no({ to: policy.agent, value: 1n }, /without ETH/);
      no(batch([{ to: policy.task!.token, data: mint(policy.user) }]), /batches are not enabled/, policy);
    });
    it('the signer delegates only to the executor, and carries an authorization only on a batch to the agent itself', async () => {
      const signer = createGuardedSigner(agentAccount, batching);
      const authorization = await signer.signAuthorization({ address: executor, chainId: 31337, nonce: 1 });
      expect(authorization.address).toBe(executor);
      await expect(
        Promise.resolve().then(() => signer.signAuthorization({ address: stranger, chainId: 31337, nonce: 1 })),
      ).rejects.toThrow(/delegation to .* is not allowed/);
      await expect(
        Promise.resolve().then(() =>
          createGuardedSigner(agentAccount, policy).signAuthorization({ address: executor, chainId: 31337, nonce: 1 }),
        ),
      ).rejects.toThrow(GuardError);

      const base = {
        type: 'eip7702',
        chainId: 31337,
        nonce: 0,
        gas: 400_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      } as const;
      const mintBatch = batch([{ to: policy.task!.token, data: mint(policy.user) }]);
      await expect(
        signer.signTransaction({ ...base, ...mintBatch, authorizationList: [authorization] }),
      ).resolves.toMatch(/^0x04/);
      const rogue = await agentAccount.signAuthorization({ address: stranger, chainId: 31337, nonce: 1 });
      await expect(
        Promise.resolve().then(() => signer.signTransaction({ ...base, ...mintBatch, authorizationList: [rogue] })),
      ).rejects.toThrow(/delegation to .* is not allowed/);
      await expect(
        Promise.resolve().then(() =>
          signer.signTransaction({
            ...base,
            to: policy.task!.token,
            data: mint(policy.user),
            authorizationList: [authorization],
          }),
        ),
      ).rejects.toThrow(/only allowed on a batch/);
    });
  });

  it('a mint may not carry a gas limit above MAX_MINT_GAS (the operator pays it)', () => {
    allowed({ to: policy.task!.token, data: mint(policy.user), gas: MAX_MINT_GAS });
    refused({ to: policy.task!.token, data: mint(policy.user), gas: MAX_MINT_GAS + 1n }, /at most 300000 gas/);
    refused({ to: policy.task!.token, data: `${mint(policy.user)}00`, gas: 3_400_000n }, /at most/);
  });
  it('a batch may not carry more gas than MAX_MINT_GAS per call plus a fixed overhead', () => {
    const executor = addr();
    const batching = { ...policy, batchExecutor: executor };
    const data = encodeBatchExecute(
      [
        { to: policy.usdc, data: approve(policy.task!.token, 10n) },
        { to: policy.task!.token, data: mint(policy.user) },
      ],
      BATCH_MODE.try,
    );
    const cap = MAX_BATCH_OVERHEAD_GAS + 2n * MAX_MINT_GAS;
    expect(() => checkAgentTransaction(batching, { to: policy.agent, data, gas: cap })).not.toThrow();
    expect(() => checkAgentTransaction(batching, { to: policy.agent, data, gas: cap + 1n })).toThrow(
      /a batch of 2 calls may use at most/,
    );
  });

  describe('the transaction envelope', () => {
    const executor = addr();
    const signer = createGuardedSigner(agentAccount, { ...policy, batchExecutor: executor });
    const call = { to: policy.usdc, data: approve(policy.task!.token, 10n) };
    const attempt = (tx: Record<string, unknown>) =>
      Promise.resolve().then(() => signer.signTransaction({ ...eip1559Envelope, ...call, ...tx } as never));

    it('signs an allowed call on the configured chain', async () => {
      await expect(attempt({})).resolves.toMatch(/^0x02/);
    });
    it('refuses another chain id, or none (a signature valid on every chain)', async () => {
      await expect(attempt({ chainId: 8453 })).rejects.toThrow(/chain id 8453 is not this app's chain 31337/);
      await expect(attempt({ chainId: undefined })).rejects.toThrow(/chain id undefined/);
    });
    it('refuses an authorization for another chain, or for every chain (chain id 0), even to the executor', async () => {
      await expect(
        Promise.resolve().then(() => signer.signAuthorization({ address: executor, chainId: 0, nonce: 1 })),
      ).rejects.toThrow(/authorization for chain 0/);
      await expect(
        Promise.resolve().then(() => signer.signAuthorization({ address: executor, chainId: 8453, nonce: 1 })),
      ).rejects.toThrow(/authorization for chain 8453/);
      const everyChain = await agentAccount.signAuthorization({ address: executor, chainId: 0, nonce: 1 });
      const mintBatch = {
        to: policy.agent,
        data: encodeBatchExecute([{ to: policy.task!.token, data: mint(policy.user) }], BATCH_MODE.try),
      };
      await expect(attempt({ type: 'eip7702', ...mintBatch, authorizationList: [everyChain] })).rejects.toThrow(
        /authorization for chain 0/,
      );
    });
    it('refuses blob fields and blob, legacy or untyped transactions', async () => {
      const hash = `0x01${'ab'.repeat(31)}` as Hex;
      await expect(attempt({ blobVersionedHashes: [hash], maxFeePerBlobGas: 1n })).rejects.toThrow(/blob transactions/);
      await expect(attempt({ blobs: ['0x00'] })).rejects.toThrow(/blob transactions/);
      await expect(attempt({ sidecars: [] })).rejects.toThrow(/blob transactions/);
      await expect(attempt({ type: 'eip4844' })).rejects.toThrow(/eip4844 transactions are not allowed/);
      await expect(
        attempt({ type: 'legacy', maxFeePerGas: undefined, maxPriorityFeePerGas: undefined, gasPrice: 1n }),
      ).rejects.toThrow(/legacy/);
      await expect(attempt({ type: undefined })).rejects.toThrow(/untyped/);
    });
  });
});
