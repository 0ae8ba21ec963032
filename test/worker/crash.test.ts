import { erc20Abi, type Address, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { getChain, getPublicClient } from '@/lib/chain/clients';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { mintExecutionUnderTest } from '../support/stack';
import { user } from '../support/fixtures';
import { chainClients } from '../contracts/chain-helpers';
import {
  createFundedTask,
  expectLedgerMatchesChain,
  killWorker,
  spawnWorker,
  tokenBalance,
  useWorkerStack,
  waitForTasks,
} from './support';

// The real worker process is killed with SIGKILL at the three dangerous points of a batch
// (ledger written but nothing sent; half the batch sent; all sent but no receipt read) and
// once at a random moment; each time a fresh worker takes over after the 3 s lease runs out.
// In the end every task is complete, nothing was minted twice and nothing is missing.
// The first test runs one batch at a time (MINT_PIPELINE_DEPTH=1), so each crash leaves exactly
// one batch open; the second kills pipelined workers, with several batches in flight (once with
// two batches broadcast and neither settled).

const setup = useWorkerStack({
  env: {
    MINT_BATCH_SIZE: '5',
    MINT_INTERVAL_MS: '0',
    MINT_PIPELINE_DEPTH: '1',
    LEASE_MS: '3000',
    CHECK_INTERVAL_MS: '300',
    WORKER_CONCURRENCY: '3',
    LOG_LEVEL: 'info',
  },
});

async function runUntilExit(env: Record<string, string>, timeoutMs = 40_000) {
  // One task at a time, so the ledger state at each crash is exactly that of the crashing batch.
  const worker = spawnWorker({ ...setup.stack.env, WORKER_CONCURRENCY: '1', ...env });
  setup.children.push(worker);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    worker.child.kill('SIGKILL');
  }, timeoutMs);
  const exit = await worker.exited;
  clearTimeout(timer);
  // A SIGKILL by the timer is not the crash point: `timedOut` tells them apart.
  return { ...exit, timedOut, output: worker.output() };
}

const rpc = (method: string, params?: unknown[]) => chainClients(setup.stack.anvil.url).rpc(method, params);

/**
 * Ledger rows left open (signed or sent, not settled) by the last crash and not open before it,
 * split by whether the chain already has the mint: exactly the crashing batch.
 */
const seenOpen = new Set<string>();
async function newOpenRows(token: Address) {
  const rows = await getSql()<
    { mint_id: Hex }[]
  >`select mint_id from ai_agent_mint_records where status in ('signed', 'sent')`;
  const fresh = rows.filter((r) => !seenOpen.has(r.mint_id));
  for (const r of rows) seenOpen.add(r.mint_id);
  const used = await Promise.all(
    fresh.map((r) =>
      getPublicClient().readContract({
        address: token,
        abi: paidMintTokenAbi,
        functionName: 'usedMintIds',
        args: [r.mint_id],
      }),
    ),
  );
  return { onChain: used.filter(Boolean).length, notOnChain: used.filter((u) => !u).length };
}

describe('worker crashes', () => {
  it('kill -9 at every dangerous point, restart: all complete, no duplicate, none missing', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    const quantities = [30, 25, 20];
    const tasks = [];
    for (const [i, quantity] of quantities.entries())
      tasks.push(await createFundedTask(setup.stack, { userIndex: i + 1, quantity }));
    const before = await Promise.all([1, 2, 3].map((i) => tokenBalance(token, user(i).address)));

    // Each crash leaves exactly the state it should: half a batch on chain; a batch in the
    // ledger but not on chain; a batch on chain that the ledger has not settled.
    const midBatch = await runUntilExit({ WORKER_CRASH_AT: 'mid-batch:2' });
    expect(midBatch.signal, midBatch.output).toBe('SIGKILL');
    // Batched (EIP-7702), the batch is one transaction: sent means all of it.
    expect(await newOpenRows(token)).toEqual(
      mintExecutionUnderTest() === 'batch' ? { onChain: 5, notOnChain: 0 } : { onChain: 3, notOnChain: 2 },
    );

    const afterLedger = await runUntilExit({ WORKER_CRASH_AT: 'after-ledger-write:3' });
    expect(afterLedger.signal, afterLedger.output).toBe('SIGKILL');
    expect(await newOpenRows(token)).toEqual({ onChain: 0, notOnChain: 5 });
    // Meanwhile something else takes the first of those nonces (a transaction the ledger does
    // not know): the reconciler must fail that row and re-sign the SAME mintId with a new nonce.
    const open = await getSql()<{ task_id: string; sequence_number: number; nonce: number; mint_id: string }[]>`
      select task_id, sequence_number, nonce, mint_id from ai_agent_mint_records where status in ('signed', 'sent') order by task_id, nonce`;
    let taken: (typeof open)[number] | undefined;
    let agent: ReturnType<typeof unlockAgentAccount> | undefined;
    for (const row of open) {
      const wallet = (await getWalletById({ id: (await getTaskById({ id: row.task_id }))!.agentWalletId }))!;
      if ((await getPublicClient().getTransactionCount({ address: wallet.agentAddress as Address })) !== row.nonce)
        continue;
      [taken, agent] = [row, unlockAgentAccount(wallet)];
      break;
    }
    expect(taken, 'an open row whose nonce is the next one on chain').toBeDefined();
    const fees = await getPublicClient().estimateFeesPerGas();
    // (50,000 gas: a delegated agent runs its executor's receive() on it.)
    const raw = await agent!.signTransaction({
      type: 'eip1559',
      chainId: getChain().id,
      to: agent!.address,
      value: 0n,
      nonce: taken!.nonce,
      gas: 50_000n,
      ...fees,
    });
    await getPublicClient().waitForTransactionReceipt({
      hash: await getPublicClient().sendRawTransaction({ serializedTransaction: raw }),
    });

    const afterBroadcast = await runUntilExit({ WORKER_CRASH_AT: 'after-broadcast:2' });
    expect(afterBroadcast.signal, afterBroadcast.output).toBe('SIGKILL');
    // The whole crashing batch is on chain. It is the last one the log announced: usually 5,
    // fewer when the task it belongs to was down to its last mints (which task this worker
    // claims first depends on whether the killed worker's lease has run out yet).
    const announced = afterBroadcast.output.split('\n').filter((l) => l.includes('"batch_started"'));
    const crashing = JSON.parse(announced.at(-1)!) as { size: number };
    expect(await newOpenRows(token)).toEqual({ onChain: crashing.size, notOnChain: 0 });

    // A random moment: after the first settled batch, 0–800 ms later, with paced batches.
    const random = spawnWorker({ ...setup.stack.env, MINT_INTERVAL_MS: '400' });
    setup.children.push(random);
    const deadline = Date.now() + 30_000;
    while (!random.output().includes('batch_recorded') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 800)));
    await killWorker(random);

    const finisher = spawnWorker(setup.stack.env);
    setup.children.push(finisher);
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      60_000,
    );
    const started = Date.now() + 30_000;
    while (!finisher.output().includes('worker_started') && Date.now() < started)
      await new Promise((r) => setTimeout(r, 50));
    finisher.child.kill('SIGTERM');
    const exit = await finisher.exited;
    expect(exit.code, finisher.output()).toBe(0);

    for (const [i, task] of done.entries()) {
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(quantities[i]);
      expect((await tokenBalance(token, user(i + 1).address)) - before[i]!).toBe(
        BigInt(quantities[i]!) * 1000n * 10n ** 18n,
      );
      // Funded with exactly quantity × price: a second payment for any mint would have reverted.
      const usdcLeft = await getPublicClient().readContract({
        address: setup.stack.deployment.usdc,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [task.agentAddress as Address],
      });
      expect(usdcLeft).toBe(0n);
    }
    const [resigned] = await getSql()<{ nonce: number; mint_id: string; status: string }[]>`
      select nonce, mint_id, status from ai_agent_mint_records where task_id = ${taken!.task_id} and sequence_number = ${taken!.sequence_number}`;
    expect(resigned).toMatchObject({ mint_id: taken!.mint_id, status: 'confirmed' });
    expect(resigned!.nonce).toBeGreaterThan(taken!.nonce);
    const { rows, events } = await expectLedgerMatchesChain(
      token,
      tasks.map((t) => t.id),
    );
    expect(events).toHaveLength(75);
    expect(rows.every((r) => r.status === 'confirmed')).toBe(true);
  }, 240_000);

  it('kill -9 with several batches in flight (pipelined): all complete, no duplicate, none missing', async () => {
    const token = setup.stack.deployment.tokens[0]!.address;
    const quantities = [40, 35];
    const tasks = [];
    for (const [i, quantity] of quantities.entries())
      tasks.push(await createFundedTask(setup.stack, { userIndex: i + 4, quantity, token }));
    const before = await Promise.all([4, 5].map((i) => tokenBalance(token, user(i).address)));
    // A mint left unmined (a rare anvil stall under load) is retried after 5 s, not the default 60.
    const pipelined = { MINT_PIPELINE_DEPTH: '4', RECEIPT_TIMEOUT_MS: '5000' };

    // Broadcasting the 3rd batch while the first two may still be unsettled and the 4th is
    // being written; then writing the 5th while earlier ones are on chain, unsettled.
    const afterBroadcast = await runUntilExit({ ...pipelined, WORKER_CRASH_AT: 'after-broadcast:3' });
    expect(afterBroadcast.signal, afterBroadcast.output).toBe('SIGKILL');
    const afterLedger = await runUntilExit({ ...pipelined, WORKER_CRASH_AT: 'after-ledger-write:5' });
    expect(afterLedger.signal, afterLedger.output).toBe('SIGKILL');
    // Killed right after broadcasting a batch while the one before it is still unsettled: the
    // next worker finds both on chain, and open (the earlier one's settle may just have
    // committed as the worker died; then only the later one is open).
    await newOpenRows(token);
    // Two batches are on the wire at once only if the first one's receipt is not there yet when
    // the second is broadcast. Mining on arrival (automine), the first one's receipt is usually
    // read before the second is signed and written, so whether the crash point was ever reached
    // was a race: under load a worker could finish both tasks without it and be killed by the
    // timeout instead, leaving nothing open (0 ≥ 5). With a block every second both batches
    // wait in the pool; after the kill one block puts them on chain, and automine comes back.
    await rpc('evm_setAutomine', [false]);
    await rpc('evm_setIntervalMining', [1]);
    let twoInFlight;
    try {
      twoInFlight = await runUntilExit({ ...pipelined, WORKER_CRASH_AT: 'two-in-flight' });
    } finally {
      await rpc('evm_setIntervalMining', [0]);
      await rpc('evm_mine');
      await rpc('evm_setAutomine', [true]);
    }
    expect(twoInFlight.signal, twoInFlight.output).toBe('SIGKILL');
    expect(twoInFlight.timedOut, `the worker reached two batches in flight\n${twoInFlight.output}`).toBe(false);
    expect((await newOpenRows(token)).onChain, 'a whole batch (5 mints) open and on chain').toBeGreaterThanOrEqual(5);
    const open = await getSql()`select 1 from ai_agent_mint_records where status in ('signed', 'sent')`;
    expect(open.length, 'the crash left batches open for the next worker to reconcile').toBeGreaterThan(0);

    const finisher = spawnWorker({ ...setup.stack.env, ...pipelined });
    setup.children.push(finisher);
    const done = await waitForTasks(
      tasks.map((t) => t.id),
      ['completed', 'failed', 'cancelled'],
      60_000,
    );
    await killWorker(finisher);
    for (const [i, task] of done.entries()) {
      expect(task.status, task.errorMessage ?? '').toBe('completed');
      expect(task.mintsCompleted).toBe(quantities[i]);
      expect((await tokenBalance(token, user(i + 4).address)) - before[i]!).toBe(
        BigInt(quantities[i]!) * 1000n * 10n ** 18n,
      );
    }
    const { rows, events } = await expectLedgerMatchesChain(
      token,
      tasks.map((t) => t.id),
    );
    expect(events).toHaveLength(75);
    expect(rows.every((r) => r.status === 'confirmed')).toBe(true);
  }, 120_000);
});
