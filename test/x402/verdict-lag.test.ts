import { createWalletClient, http, parseAbiItem, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { getTaskById } from '@/db/tasks';
import { listX402PaymentsByTask, type X402PaymentRow } from '@/db/x402-payments';
import { getChain } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { cancelTask } from '@/lib/tasks/cancel-task';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { anvilAccount } from '@/scripts/local/anvil';
import type { X402MintServer } from '@/scripts/local/x402-mint-server';
import { UNPROVEN_GRACE_SECONDS } from '@/worker/x402/settlement';
import { startMintWorker, waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, useX402SetupBehindLaggingNode, x402StateOf } from './support';

// One verdict, one block (found by review). The worker judged a payment from two reads: the
// authorization's state at "latest", then the settlement's receipt and AuthorizationUsed log from
// whichever node answered next. Behind a load-balanced RPC the second can be a node a block
// behind: "used, no transfer" closed a payment the seller was paid for as cancelled, and the
// worker paid the seller again for the same mint. Here the app and the worker read through a
// node whose logs and receipts are held at a block (test/support/lagging-node.ts) while the
// seller settles on the chain itself.

const { setup, lagging, chain } = useX402SetupBehindLaggingNode({
  env: {
    LOG_LEVEL: 'silent',
    MINT_INTERVAL_MS: '0',
    X402_REQUEST_TIMEOUT_MS: '3000',
    LEASE_MS: '5000',
    CHECK_INTERVAL_MS: '200',
    X402_MAX_REFUSALS: '10',
    // No operator cancels: a cancel here is only ever the one the test sends.
    X402_MAX_CANCELS_PER_TASK: '0',
    X402_MAX_AUTHORIZATION_SECONDS: '10',
  },
  mineEveryMs: 500,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent's USDC transfers to the seller, read from the chain itself (not the lagging node). */
async function paidToSeller(agent: Address) {
  const logs = await chain().getLogs({
    address: setup.server.usdc,
    event: parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)'),
    args: { from: agent, to: setup.server.payTo },
    fromBlock: 0n,
  });
  return logs.map((l) => l.transactionHash);
}

async function waitForRow(taskId: string, test: (rows: X402PaymentRow[]) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await listX402PaymentsByTask({ taskId });
    if (test(rows)) return rows;
    if (Date.now() > deadline)
      throw new Error(
        `payments not as expected: ${JSON.stringify(rows.map((r) => [r.status, r.httpStatus, r.error]))}`,
      );
    await sleep(100);
  }
}

/** A funded one-mint task whose agent holds five mints' more USDC (what a second purchase would be paid from). */
async function oneMintTask(mode?: Parameters<X402MintServer['mintUrl']>[0]) {
  const user = privateKeyToAccount(generatePrivateKey()).address;
  const terms = await probeTerms(setup.server.mintUrl(mode), user);
  const wallet = await getOrCreateAgentWallet(user);
  const owner = createWalletClient({ account: anvilAccount(0), chain: getChain(), transport: http(lagging.chainUrl) });
  await chain().waitForTransactionReceipt({
    hash: await owner.writeContract({
      address: setup.server.usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [wallet.agentAddress as Address, BigInt(terms.requirement.amount) * 5n],
    }),
  });
  const task = await createFundedX402Task({ userAddress: user, terms, quantity: 1, token: setup.server.tokenAddress });
  return { task, user, wallet, terms, agent: task.agentAddress as Address };
}

describe('the chain verdict of a payment, read at one block', () => {
  it('keeps a settled payment open while the node it reads logs from lags, pays no second time, and records the settlement once the log is there', async () => {
    const { task, agent } = await oneMintTask();
    // Held before the worker starts: the seller's settlement is in a later block.
    lagging.node.hold(await chain().getBlockNumber());
    const worker = await startMintWorker({ id: 'x402-verdict-lag' });
    try {
      const [row] = await waitForRow(task.id, (rows) => rows.some((r) => r.httpStatus === 200));
      const settlements = await paidToSeller(agent);
      expect(settlements).toHaveLength(1);
      // Turns go by (each reconciles at POLL_MS) with the node still behind the settlement.
      const heldBefore = lagging.node.heldAnswers;
      await sleep(3000);
      expect(lagging.node.heldAnswers).toBeGreaterThan(heldBefore);
      const rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.map((r) => [r.sequenceNumber, r.status, r.httpStatus])).toEqual([[1, 'sent', 200]]);
      expect(rows[0]!.id).toBe(row!.id);
      expect(await paidToSeller(agent)).toEqual(settlements);
      expect((await getTaskById({ id: task.id }))!.status).toBe('processing');

      lagging.node.release();
      const [done] = await waitForTasks([task.id], ['completed'], 30_000);
      expect(done!.mintsCompleted).toBe(1);
      const settled = await listX402PaymentsByTask({ taskId: task.id });
      expect(settled.map((r) => [r.sequenceNumber, r.status, r.settlementTxHash])).toEqual([
        [1, 'settled', settlements[0]],
      ]);
      expect(await paidToSeller(agent)).toEqual(settlements);
    } finally {
      lagging.node.release();
      await worker.stop();
    }
  }, 90_000);

  it('records a cancel only once its AuthorizationCanceled log is seen', async () => {
    const { task, user, wallet, terms } = await oneMintTask('refuse-all');
    const worker = await startMintWorker({ id: 'x402-verdict-cancel' });
    try {
      while ((await x402StateOf(task.id)).refusals === 0) await sleep(100);
      const [refused] = await listX402PaymentsByTask({ taskId: task.id });
      expect(refused!.status).toBe('sent');
      lagging.node.hold(await chain().getBlockNumber());
      // The agent's key cancels the open authorization (the operator has no cancels to spend here).
      const agentAccount = unlockAgentAccount(wallet);
      const signature = await agentAccount.signTypedData({
        domain: { ...terms.domain, chainId: getChain().id, verifyingContract: setup.server.usdc },
        types: {
          CancelAuthorization: [
            { name: 'authorizer', type: 'address' },
            { name: 'nonce', type: 'bytes32' },
          ],
        },
        primaryType: 'CancelAuthorization',
        message: { authorizer: agentAccount.address, nonce: refused!.nonce as Hex },
      });
      const submitter = createWalletClient({
        account: anvilAccount(4),
        chain: getChain(),
        transport: http(lagging.chainUrl),
      });
      const cancel = await submitter.writeContract({
        address: setup.server.usdc,
        abi: testUSDCAbi,
        functionName: 'cancelAuthorization',
        args: [agentAccount.address, refused!.nonce as Hex, signature],
      });
      expect((await chain().waitForTransactionReceipt({ hash: cancel })).status).toBe('success');

      // The worker asked for the cancel's log and the node left it out: used without a log yet,
      // the payment stays open (and is not re-sent).
      while (lagging.node.heldAnswers === 0) await sleep(100);
      await sleep(1500);
      let rows = await listX402PaymentsByTask({ taskId: task.id });
      expect(rows.map((r) => [r.sequenceNumber, r.status])).toEqual([[1, 'sent']]);

      lagging.node.release();
      rows = await waitForRow(task.id, (rows) => rows[0]?.status === 'cancelled');
      expect(rows[0]!.id).toBe(refused!.id);
      expect((await x402StateOf(task.id)).operatorCancels).toBe(0);
      // The user cancels; the mint's next authorization is left to expire (no operator cancels).
      await cancelTask({ taskId: task.id, userAddress: user });
      await waitForTasks([task.id], ['cancelled'], 40_000);
    } finally {
      lagging.node.release();
      await worker.stop();
    }
  }, 90_000);

  it(`counts a used payment as paid once no node has shown its log ${UNPROVEN_GRACE_SECONDS} s past its expiry`, async () => {
    const { task, agent } = await oneMintTask();
    lagging.node.hold(await chain().getBlockNumber());
    const worker = await startMintWorker({ id: 'x402-verdict-grace' });
    try {
      const [row] = await waitForRow(task.id, (rows) => rows.some((r) => r.httpStatus === 200));
      await sleep(1000);
      expect((await listX402PaymentsByTask({ taskId: task.id })).map((r) => r.status)).toEqual(['sent']);
      // Chain time past validBefore + the grace; the node still shows nothing.
      const now = (await chain().getBlock()).timestamp;
      const past = BigInt(row!.authorization.validBefore!) + UNPROVEN_GRACE_SECONDS + 5n - now;
      await chain().request({ method: 'evm_increaseTime' as never, params: [Number(past)] as never });
      await chain().request({ method: 'evm_mine' as never, params: [] as never });
      const [counted] = await waitForRow(task.id, (rows) => rows[0]?.status === 'settled');
      expect(counted!.settlementTxHash).toBeNull();
      expect(counted!.error).toMatch(/counted as paid/);

      lagging.node.release();
      await waitForTasks([task.id], ['completed'], 30_000);
      expect(await paidToSeller(agent)).toHaveLength(1);
      expect((await listX402PaymentsByTask({ taskId: task.id })).map((r) => r.status)).toEqual(['settled']);
    } finally {
      lagging.node.release();
      await worker.stop();
    }
  }, 90_000);
});
