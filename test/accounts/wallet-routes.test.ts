import { describe, expect, it } from 'vitest';
import { createWalletClient, decodeEventLog, erc20Abi, getAddress, http, type Address } from 'viem';
import { transitionTask } from '@/db/tasks';
import { GET as walletGET } from '@/app/api/ai-agent/wallet/[userAddress]/route';
import { POST as withdrawPOST } from '@/app/api/ai-agent/wallet/[userAddress]/withdraw/route';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { getUsdcBalance } from '@/lib/chain/usdc';
import { resetRateLimits } from '@/lib/rate-limit';
import { getOrCreateAgentWallet } from '@/lib/wallets/agent-wallets';
import { createPendingTask, user } from '../support/fixtures';
import { useTestStack } from '../support/use-test-stack';
import { call, cookieFor, type Cookie } from '../support/routes';

const stack = useTestStack();

const alice = user(1);
const bob = user(2);
const carol = user(3);

async function sendUsdc(from: typeof alice, to: Address, amount: bigint) {
  const wallet = createWalletClient({ account: from, chain: getChain(), transport: http(stack.anvil.url) });
  const hash = await wallet.writeContract({
    address: stack.deployment.usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await getPublicClient().waitForTransactionReceipt({ hash });
}

/** A task of `owner` moved to funded: its 10 × 0.1 USDC = 1 USDC is reserved. */
async function fundedTask(owner: Address, to: 'funded' | 'processing' = 'funded') {
  const task = await createPendingTask({
    userAddress: owner,
    token: stack.deployment.tokens[0]!.address,
    quantity: 10,
  });
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded' });
  if (to === 'processing')
    await transitionTask({ id: task.id, from: 'funded', to: 'processing', set: { mintsCompleted: 4 } });
  return task;
}

const view = (address: string, cookie?: Cookie) =>
  call(walletGET as never, `/api/ai-agent/wallet/${address}`, { userAddress: address }, { cookie });
const withdraw = (address: string, cookie?: Cookie, body?: unknown, headers?: Record<string, string>) =>
  call(
    withdrawPOST as never,
    `/api/ai-agent/wallet/${address}/withdraw`,
    { userAddress: address },
    { method: 'POST', cookie, body, headers },
  );

describe('GET /api/ai-agent/wallet/:userAddress', () => {
  it('answers 401 without a session, 404 to a stranger, and the view to the owner', async () => {
    expect((await view(alice.address)).status).toBe(401);
    const stranger = await view(alice.address, cookieFor(bob.address));
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found:wallet');
    const own = await view(alice.address, cookieFor(alice.address));
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      userAddress: alice.address,
      usdcBalance: '0',
      reservedUsdc: '0',
      refundableUsdc: '0',
    });
    expect(own.body.agentAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(JSON.stringify(own.body)).not.toMatch(/encrypted|privateKey/i);
  });

  it('reserves what funded and processing tasks still need', async () => {
    const agent = getAddress((await getOrCreateAgentWallet(carol.address)).agentAddress);
    await sendUsdc(carol, agent, 3_000_000n);
    await fundedTask(carol.address); // needs 1_000_000
    await fundedTask(carol.address, 'processing'); // 6 of 10 left: 600_000
    const { body } = await view(carol.address, cookieFor(carol.address));
    expect(body).toMatchObject({ usdcBalance: '3000000', reservedUsdc: '1600000', refundableUsdc: '1400000' });
  });
});

describe('POST /api/ai-agent/wallet/:userAddress/withdraw', () => {
  it('sends exactly the refundable USDC to the user, never the reserved part', async () => {
    await resetRateLimits();
    const agent = getAddress((await getOrCreateAgentWallet(alice.address)).agentAddress);
    await sendUsdc(alice, agent, 5_000_000n);
    await fundedTask(alice.address);
    const cookie = await cookieFor(alice.address);
    expect(await getPublicClient().getBalance({ address: agent })).toBe(0n);

    const tooMuch = await withdraw(alice.address, cookie, { amount: '4000001' });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('conflict:withdraw');

    const before = await getUsdcBalance(alice.address);
    const done = await withdraw(alice.address, cookie);
    expect(done.status).toBe(200);
    expect(done.body.amount).toBe('4000000');
    expect(await getUsdcBalance(alice.address)).toBe(before + 4_000_000n);
    expect(await getUsdcBalance(agent)).toBe(1_000_000n);

    const receipt = await getPublicClient().getTransactionReceipt({ hash: done.body.txHash });
    const transfer = decodeEventLog({ abi: erc20Abi, ...receipt.logs[0]! });
    expect(transfer.args).toMatchObject({ from: agent, to: alice.address, value: 4_000_000n });

    const nothing = await withdraw(alice.address, cookie);
    expect(nothing.status).toBe(409);
    expect(nothing.body.error.message).toMatch(/Nothing to withdraw/);
  });

  it('withdraws a chosen amount below the refundable one', async () => {
    await resetRateLimits();
    const agent = getAddress((await getOrCreateAgentWallet(bob.address)).agentAddress);
    await sendUsdc(bob, agent, 2_000_000n);
    const done = await withdraw(bob.address, cookieFor(bob.address), { amount: '500000' });
    expect(done.status).toBe(200);
    expect(await getUsdcBalance(agent)).toBe(1_500_000n);
  });

  it('waits while a task is minting with the wallet', async () => {
    await resetRateLimits();
    const { status, body } = await withdraw(carol.address, cookieFor(carol.address));
    expect(status).toBe(409);
    expect(body.error.message).toMatch(/minting/);
  });

  it('answers 401, 404 to a stranger, 415 for a non-JSON body and 400 for a bad amount', async () => {
    await resetRateLimits();
    expect((await withdraw(alice.address)).status).toBe(401);
    expect((await withdraw(alice.address, cookieFor(bob.address))).status).toBe(404);
    expect(
      (await withdraw(bob.address, cookieFor(bob.address), 'amount=1', { 'content-type': 'text/plain' })).status,
    ).toBe(415);
    for (const amount of ['0', '-1', '1.5', 'all', 12]) {
      expect((await withdraw(bob.address, cookieFor(bob.address), { amount })).status).toBe(400);
    }
  });

  it('rate-limits withdrawals per address with 429 and Retry-After', async () => {
    await resetRateLimits();
    const cookie = await cookieFor(alice.address);
    for (let i = 0; i < 10; i++) expect((await withdraw(alice.address, cookie)).status).toBe(409);
    const limited = await withdraw(alice.address, cookie);
    expect(limited.status).toBe(429);
    expect(limited.res.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
