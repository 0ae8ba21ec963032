import { createWalletClient, formatEther, http, parseEther, parseUnits, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { recordKnownTokens } from '@/db/known-tokens';
import { getTaskById } from '@/db/tasks';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { deployPaidMintToken, deployTestUsdc } from '@/lib/chain/deploy';
import { MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { isPaidMintTokenCode } from '@/lib/chain/token-code';
import { anvilAccount } from '@/scripts/local/anvil';
import { user } from '../support/fixtures';
import { deployGasBurner } from '../support/hostile-token';
import { startTestStack, type TestStack } from '../support/stack';
import { awaitSweep, createFundedTask, startMintWorker, waitForTasks } from '../worker/support';

// Finding 1 of the security review: a contract whose mintSigner() answers the operator's address
// and whose mint burns ~3.4M gas was accepted, and the operator paid that gas. Each guard is
// shown refusing it on real anvil + Postgres: unknown tokens at creation, listing by code, the
// per-mint gas cap in the worker, the minimum task value, and the per-user daily gas budget.

let stack: TestStack;
let worker: import('@/worker/loop').MintWorker | undefined;
let hostile: Address;

const deployer = () =>
  createWalletClient({ account: anvilAccount(0), chain: getChain(), transport: http(stack.anvil.url) });
const tasksOf = async (userAddress: Address) =>
  (await getSql()`select id from ai_agent_tasks where user_address = ${userAddress.toLowerCase()}`).length;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      MINT_BATCH_SIZE: '5',
      MINT_INTERVAL_MS: '0',
      RECEIPT_TIMEOUT_MS: '5000',
      LEASE_MS: '3000',
      CHECK_INTERVAL_MS: '300',
      USER_MAX_TOPUP_PER_DAY_ETH: '0.2',
    },
  });
  // As in the probe: paid in our USDC, 1 base unit per mint, mint signer = the operator, ~3.4M gas per mint.
  hostile = await deployGasBurner(deployer(), getPublicClient(), {
    paymentToken: stack.deployment.usdc,
    pricePerMint: 1n,
    mintSigner: stack.operator,
    burnRounds: 34_000n,
  });
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await stack?.stop();
}, 30_000);

async function startWorker() {
  worker ??= await startMintWorker();
}

describe('only tokens AgentMint knows can be minted', () => {
  it("refuses the probe's hostile token at creation, and the operator cannot list it", async () => {
    const { createMintTask } = await import('@/lib/tasks/create-task');
    const { listToken } = await import('@/lib/tokens/known-tokens');
    const victim = user(5).address;
    await expect(createMintTask({ userAddress: victim, tokenAddress: hostile, quantity: 2 })).rejects.toThrow(
      /AgentMint does not know the token at 0x[0-9a-fA-F]{40}/,
    );
    await expect(listToken(hostile)).rejects.toThrow(/is not a PaidMintToken: its code does not match/);
    expect(isPaidMintTokenCode(await getPublicClient().getCode({ address: hostile }))).toBe(false);
    expect(await tasksOf(victim)).toBe(0);
  });

  it('the tokens AgentMint deployed still work', async () => {
    const { createMintTask } = await import('@/lib/tasks/create-task');
    const task = await createMintTask({
      userAddress: user(5).address,
      tokenAddress: stack.deployment.tokens[0]!.address,
      quantity: 3,
    });
    expect(task.status).toBe('pending_payment');
  });

  it('a PaidMintToken deployed elsewhere needs the operator to list it; listing checks its code, its USDC and its signer', async () => {
    const { createMintTask } = await import('@/lib/tasks/create-task');
    const { tokensCommand } = await import('@/lib/ops/token-commands');
    const params = {
      name: 'Cheap',
      symbol: 'CHP',
      paymentToken: stack.deployment.usdc,
      pricePerMint: parseUnits('0.01', 6),
      mintAmount: 1n,
      maxMintCount: 1000n,
      mintSigner: stack.operator,
    };
    const cheap = await deployPaidMintToken(deployer(), getPublicClient(), params);
    // Different immutables (price, name, domain cache), same code once they are masked.
    expect(isPaidMintTokenCode(await getPublicClient().getCode({ address: cheap }))).toBe(true);
    await expect(createMintTask({ userAddress: user(5).address, tokenAddress: cheap, quantity: 20 })).rejects.toThrow(
      /does not know the token/,
    );

    const listed = await tokensCommand({ action: 'add', address: cheap });
    expect(listed.text).toMatch(/CHP .* may be minted \(listed\)/);
    expect((await tokensCommand({})).json).toEqual(
      expect.arrayContaining([expect.objectContaining({ address: cheap, source: 'listed' })]),
    );
    expect((await createMintTask({ userAddress: user(5).address, tokenAddress: cheap, quantity: 20 })).quantity).toBe(
      20,
    );

    const otherUsdc = await deployTestUsdc(deployer(), getPublicClient());
    const paidElsewhere = await deployPaidMintToken(deployer(), getPublicClient(), {
      ...params,
      paymentToken: otherUsdc,
    });
    await expect(tokensCommand({ action: 'add', address: paidElsewhere })).rejects.toThrow(
      /is paid in .* not in this service's USDC/,
    );
    const strangerSigned = await deployPaidMintToken(deployer(), getPublicClient(), {
      ...params,
      mintSigner: anvilAccount(9).address,
    });
    await expect(tokensCommand({ action: 'add', address: strangerSigned })).rejects.toThrow(
      /mint signer .* is not a key in the key file/,
    );

    expect((await tokensCommand({ action: 'remove', address: cheap })).json).toMatchObject({ removed: true });
    await expect(createMintTask({ userAddress: user(5).address, tokenAddress: cheap, quantity: 20 })).rejects.toThrow(
      /does not know the token/,
    );
  });
});

describe('minimum task value', () => {
  it('refuses a task below MIN_TASK_VALUE_USDC (0.1) with the quantity that would pass, in English and Chinese', async () => {
    const { createMintTask } = await import('@/lib/tasks/create-task');
    const { errorText } = await import('@/lib/ai/offline/replies');
    const penny = await deployPaidMintToken(deployer(), getPublicClient(), {
      name: 'Penny',
      symbol: 'PNY',
      paymentToken: stack.deployment.usdc,
      pricePerMint: parseUnits('0.01', 6),
      mintAmount: 1n,
      maxMintCount: 1000n,
      mintSigner: stack.operator,
    });
    await recordKnownTokens({ chainId: 31337, source: 'deployed', tokens: [{ address: penny }] });
    const refusal = await createMintTask({ userAddress: user(6).address, tokenAddress: penny, quantity: 5 }).catch(
      (e: Error) => e,
    );
    expect(refusal).toMatchObject({ code: 'bad_request:task', status: 400 });
    expect((refusal as Error).message).toBe(
      'A task must cost at least 0.1 USDC; this one would cost 0.05 USDC. Ask for at least 10 mints.',
    );
    expect(errorText((refusal as Error).message, 'zh', 'createMintTask')).toContain('请至少 mint 10 次');
    expect(await tasksOf(user(6).address)).toBe(0);
    expect((await createMintTask({ userAddress: user(6).address, tokenAddress: penny, quantity: 10 })).totalCost).toBe(
      '100000',
    );
  });
});

describe('gas the operator pays', () => {
  it('a known token whose mint needs more than MAX_MINT_GAS fails its task before any mint is sent; a PaidMintToken mint stays far below it', async () => {
    // Say the hostile token had been recorded (an operator's mistake): the worker is the last line.
    await recordKnownTokens({ chainId: 31337, source: 'deployed', tokens: [{ address: hostile }] });
    const client = getPublicClient();
    const operatorBefore = await client.getBalance({ address: stack.operator });
    const burning = await createFundedTask(stack, { userIndex: 7, quantity: 2, token: hostile });
    const real = await createFundedTask(stack, { userIndex: 8, quantity: 6 });
    await startWorker();
    const [failed, completed] = await waitForTasks([burning.id, real.id], ['completed', 'failed'], 60_000);

    expect(failed!.status).toBe('failed');
    expect(failed!.errorMessage).toMatch(
      /^The token's mint needs \d+ gas, more than the 300000 AgentMint pays for one mint; no mint was sent\.$/,
    );
    expect(failed!.attempts).toBe(1); // failed at once, not after MAX_RETRIES
    expect((await getSql()`select 1 from ai_agent_mint_records where task_id = ${burning.id}`).length).toBe(0);
    expect(await client.readContract({ address: hostile, abi: paidMintTokenAbi, functionName: 'mintCount' })).toBe(0n);
    // The agent sent at most its USDC approval, then the sweep of its unburnt gas back to the
    // operator: the operator's ETH went no further than the real task's gas and what the
    // approval burnt.
    const swept = await client.getTransaction({ hash: (await awaitSweep(burning.agentWalletId)).txHash });
    expect(swept.to?.toLowerCase()).toBe(stack.operator.toLowerCase());
    expect(await client.getTransactionCount({ address: burning.agentAddress as Address })).toBeLessThanOrEqual(2);
    expect(swept.nonce).toBe((await client.getTransactionCount({ address: burning.agentAddress as Address })) - 1);

    expect(completed!.status, completed!.errorMessage ?? '').toBe('completed');
    const [gas] = await getSql()<
      { max: string }[]
    >`select max(gas_used)::text as max from ai_agent_mint_records where task_id = ${real.id}`;
    const measured = BigInt(gas!.max);
    console.log(
      `PaidMintToken mint: at most ${measured} gas used (MAX_MINT_GAS ${MAX_MINT_GAS}); operator spent ${formatEther(operatorBefore - (await client.getBalance({ address: stack.operator })))} ETH`,
    );
    expect((measured * 3n) / 2n).toBeLessThan(MAX_MINT_GAS);
  }, 90_000);

  it("a user's daily gas budget, once spent, fails their next task with a clear message and no top-up", async () => {
    const client = getPublicClient();
    const victim = user(9).address;
    // This user's top-ups in the last 24 h already reached USER_MAX_TOPUP_PER_DAY_ETH.
    await getSql()`insert into agent_gas_topups (user_address, amount_wei) values (${victim.toLowerCase()}, ${parseEther('0.2').toString()})`;
    const operatorNonce = await client.getTransactionCount({ address: stack.operator });
    const task = await createFundedTask(stack, { userIndex: 9, quantity: 3 });
    await startWorker();
    const [done] = await waitForTasks([task.id], ['completed', 'failed'], 60_000);
    expect(done!.status).toBe('failed');
    expect(done!.errorMessage).toBe(
      'Your gas budget for the last 24 hours is used up (0.2 of 0.2 ETH, USER_MAX_TOPUP_PER_DAY_ETH); retry the task later.',
    );
    expect(done!.mintsCompleted).toBe(0);
    expect(await client.getTransactionCount({ address: stack.operator })).toBe(operatorNonce);
    expect((await getTaskById({ id: task.id }))!.gasToppedUpWei).toBe('0');
  }, 90_000);

  it('two top-ups of one user at once cannot both fit under the daily budget', async () => {
    const { reserveGasTopUp } = await import('@/db/gas-topups');
    const someone = anvilAccount(3).address;
    const attempt = () =>
      reserveGasTopUp({
        userAddress: someone,
        amountWei: parseEther('0.1'),
        taskCapWei: parseEther('1'),
        dayCapWei: parseEther('0.15'),
      });
    const results = await Promise.all(Array.from({ length: 6 }, attempt));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.limit === 'day')).toHaveLength(5);
  });
});
