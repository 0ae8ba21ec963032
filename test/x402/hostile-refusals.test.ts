import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { retryTask } from '@/lib/tasks/retry-task';
import { getWalletView } from '@/lib/wallets/wallet-view';
import { waitForTasks } from '../worker/support';
import {
  balanceOf,
  createFundedX402Task,
  gasBudgetRowsByTask,
  operatorTxCount,
  probeTerms,
  settledOnChain,
  useX402Setup,
  x402StateOf,
} from './support';

// A seller that refuses every paid request with 400 (issue 22, first row: one 0.1 USDC task plus
// one retry made the operator send 124 cancelAuthorization transactions). Now a refused payment
// is not replaced by a new one: it is re-sent as it is (1 s, 2 s apart) until the task has taken
// X402_MAX_REFUSALS refusals; then the task ends once that one authorization is dead, cancelled
// by the operator while the task's cancel budget lasts (here 1), else left to expire by chain time.

const setup = useX402Setup({
  env: {
    MINT_BATCH_SIZE: '3',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '1500',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_MAX_REFUSALS: '3',
    X402_MAX_CANCELS_PER_TASK: '1',
    X402_MAX_AUTHORIZATION_SECONDS: '10',
  },
  mineEveryMs: 500,
  workerId: 'x402-refusals',
});

describe('a seller that refuses every payment', () => {
  it('costs the operator one transaction for the task and a retry, within the gas budget; a retry does not reset the refusal count', async () => {
    const user = privateKeyToAccount(generatePrivateKey()).address;
    const terms = await probeTerms(setup.server.mintUrl('refuse-all'), user);
    const task = await createFundedX402Task({
      userAddress: user,
      terms,
      quantity: 10,
      token: setup.server.tokenAddress,
    });
    expect(task.totalCost).toBe('100000'); // 0.1 USDC, as in the issue
    const operatorBefore = await operatorTxCount(setup.stack.operator);

    const [first] = await waitForTasks([task.id], ['failed'], 30_000);
    expect(first!.errorMessage).toMatch(/refused 3 paid request\(s\) \(last: payment rejected\)/);
    let rows = await listX402PaymentsByTask({ taskId: task.id });
    // One authorization, refused three times, cancelled by the operator as the task ended.
    expect(rows.map((r) => r.status)).toEqual(['cancelled']);
    expect(setup.server.stats.refused).toBe(3);
    expect(await operatorTxCount(setup.stack.operator)).toBe(operatorBefore + 1);
    const budget = await gasBudgetRowsByTask(task.id);
    expect(budget).toHaveLength(1);
    expect(BigInt(budget[0]!.amountWei)).toBeGreaterThan(0n);
    expect(budget[0]!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await x402StateOf(task.id)).toEqual({ refusals: 3, operatorCancels: 1 });

    // The user retries: three more refusals, and the task's one cancel is spent, so the live
    // authorization is left to expire by chain time; the task waits for that without a worker slot.
    await retryTask({ taskId: task.id, userAddress: user });
    const [second] = await waitForTasks([task.id], ['failed'], 40_000);
    expect(second!.errorMessage).toMatch(/refused 6 paid request/);
    rows = await listX402PaymentsByTask({ taskId: task.id });
    expect(rows.map((r) => r.status)).toEqual(['cancelled', 'expired']);
    expect(setup.server.stats.refused).toBe(6);
    expect(await x402StateOf(task.id)).toEqual({ refusals: 6, operatorCancels: 1 });

    // Figures: the operator sent one transaction for the task and its retry; no USDC moved.
    const operatorTxs = (await operatorTxCount(setup.stack.operator)) - operatorBefore;
    console.log(`refusing seller, task + retry: ${operatorTxs} operator transaction(s), ${rows.length} authorizations`);
    expect(operatorTxs).toBe(1);
    expect((await settledOnChain(setup.server.usdc, task.agentAddress as Address, setup.server.payTo)).count).toBe(0);
    expect(await balanceOf(setup.server.usdc, task.agentAddress as Address)).toBe(100_000n);
    expect((await getWalletView(user)).refundableUsdc).toBe('100000');
  });
});
