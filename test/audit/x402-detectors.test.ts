import { erc20Abi, keccak256, parseEther, parseEventLogs, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSql } from '@/db/client';
import type { X402Terms } from '@/db/schema';
import type { TaskWithAgent } from '@/db/tasks';
import { insertX402Claims } from '@/db/x402-claims';
import { resolveX402Payments } from '@/db/x402-payments';
import { formatAudit } from '@/lib/audit/format';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { authorizationToJson, TRANSFER_WITH_AUTHORIZATION_TYPES, type Authorization } from '@/lib/chain/eip3009';

import { createX402Signer } from '@/lib/wallets/payment-guard';
import type { X402PaymentStatus } from '@/db/schema';
import { anvilAccount } from '@/scripts/local/anvil';
import type { X402MintServer } from '@/scripts/local/x402-mint-server';
import { waitForTasks } from '../worker/support';
import { createFundedX402Task, probeTerms, startX402Setup, type X402Setup } from '../x402/support';
import { agentOf, auditUser, kindsOf, newUser, sendEth, setTaskProgress, waitFor, walletFor } from './support';

// The audit's x402 detectors on a real stack with the local x402 mint server (official @x402
// packages): a task the worker pays for audits clean payment by payment; then the payments a
// seller or a broken ledger can make wrong. An authorization the ledger let go (expired by the
// worker's clock, cancelled, refused as unpaid) that a seller settles anyway is the theft the
// hostile-seller review found ("settled 9 of the 10 authorizations it held, after the task had
// ended"): it must show as x402_dead_authorization_settled, one per payment.

let setup: X402Setup;
let server: X402MintServer;
let paid: TaskWithAgent;
let forwarded: TaskWithAgent;
let tookAndRan: TaskWithAgent;
const seller = anvilAccount(8);

beforeAll(async () => {
  ({ server } = setup = await startX402Setup({
    env: {
      MINT_INTERVAL_MS: '0',
      CHECK_INTERVAL_MS: '200',
      LOG_LEVEL: 'silent',
      X402_REQUEST_TIMEOUT_MS: '1500',
      X402_DELIVERY_TIMEOUT_MS: '3000',
    },
    workerId: 'audit-x402',
  }));
  // Both shapes: the endpoint mints to the user, and it mints to the payer (the agent forwards).
  const tasks = [];
  for (const shape of [{}, { method: 'GET' as const, body: undefined, mintsToUser: false }]) {
    const user = newUser();
    const terms = await probeTerms(server.mintUrl(), user, shape);
    tasks.push(await createFundedX402Task({ userAddress: user, terms, quantity: 3, token: server.tokenAddress }));
  }
  // And a seller that takes the first payment and delivers nothing: the task stops there with a claim.
  const victim = newUser();
  const terms = await probeTerms(server.mintUrl('take-and-run'), victim);
  tasks.push(await createFundedX402Task({ userAddress: victim, terms, quantity: 3, token: server.tokenAddress }));
  [paid, forwarded, tookAndRan] = (await waitForTasks(
    tasks.map((t) => t.id),
    ['completed', 'failed', 'cancelled'],
    60_000,
  )) as [TaskWithAgent, TaskWithAgent, TaskWithAgent];
  expect([paid.status, forwarded.status, tookAndRan.status]).toEqual(['completed', 'completed', 'failed']);
  // The tests below write tasks the worker must not pick up.
  await setup.worker!.stop();
}, 120_000);

afterAll(() => setup?.stop(), 30_000);

/** An x402 task that has ended (funded on chain, then `status`), whose payments the test writes. */
async function endedTask(quantity: number, status: 'cancelled' | 'failed' | 'completed' = 'cancelled') {
  const user = newUser();
  const terms = await probeTerms(server.mintUrl(), user);
  const task = await createFundedX402Task({ userAddress: user, terms, quantity, token: server.tokenAddress });
  await setTaskProgress(task.id, 0, status);
  return { user, terms, task };
}

/** An EIP-3009 payment signed by the agent through the x402 payment guard, valid as long as the endpoint asks. */
async function signPayment(user: Address, task: TaskWithAgent, terms: X402Terms) {
  const agent = await agentOf(user);
  const signer = createX402Signer(agent.account, {
    agent: agent.account.address,
    user,
    token: server.tokenAddress,
    terms,
    funding: BigInt(task.totalCost),
  });
  const now = (await getPublicClient().getBlock()).timestamp;
  const authorization: Authorization = {
    from: agent.account.address,
    to: terms.requirement.payTo as Address,
    value: BigInt(terms.requirement.amount),
    validAfter: 0n,
    validBefore: now + BigInt(terms.requirement.maxTimeoutSeconds),
    nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = (await signer.paymentAccount.signTypedData({
    domain: {
      ...terms.domain,
      chainId: getChain().id,
      verifyingContract: terms.requirement.asset as Address,
    },
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: authorization,
  })) as Hex;
  return { authorization, signature };
}

/** The ledger row the worker writes before sending a payment, then closes as `status`. */
async function recordPayment(
  taskId: string,
  sequenceNumber: number,
  { authorization, signature }: { authorization: Authorization; signature: Hex },
  status: Exclude<X402PaymentStatus, 'signed'>,
  settlementTxHash?: Hex,
) {
  const [row] = await getSql()<{ id: string }[]>`
    insert into ai_agent_x402_payments (task_id, sequence_number, nonce, "authorization", signature, amount, pay_to, valid_before, status, sent_at)
    values (${taskId}, ${sequenceNumber}, ${authorization.nonce}, ${JSON.stringify(authorizationToJson(authorization))}::jsonb, ${signature},
      ${authorization.value.toString()}, ${authorization.to.toLowerCase()}, to_timestamp(${Number(authorization.validBefore)}), 'sent', now())
    returning id::text`;
  if (status !== 'sent')
    await resolveX402Payments({ resolutions: [{ id: row!.id, status, settlementTxHash, error: `test: ${status}` }] });
}

/** Whoever holds a payment (the seller) submits it: USDC moves from the agent to the payee. */
async function settleAsSeller({ authorization: a, signature }: { authorization: Authorization; signature: Hex }) {
  const hash = await walletFor(seller).writeContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'transferWithAuthorization',
    args: [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, signature],
  });
  expect((await waitFor(hash)).status).toBe('success');
  return hash;
}

describe('the audit of x402 payments', () => {
  it('checks tasks the worker paid payment by payment (tokens minted to the user, or forwarded), and finds nothing', async () => {
    for (const task of [paid, forwarded]) {
      const report = await auditUser(task.userAddress as Address);
      expect(report.discrepancies).toEqual([]);
      const price = BigInt(task.pricePerMint);
      expect(report.users[0]!.usdc).toMatchObject({ x402Paid: (3n * price).toString(), inFlight: '0' });
      expect(report.users[0]!.mints.x402Settled).toBe(3);
      // Progress is read from the deliveries ledger, each of its transfers checked on chain.
      expect(report.users[0]!.tasks[0]).toMatchObject({ x402Settled: 3, x402Delivered: 3 });
      expect(report.users[0]!.tasks[0]).not.toHaveProperty('x402Undelivered');
      expect(report.claims).toEqual([]);
      expect(formatAudit(report)).toContain('claims: none');
    }
  });

  it('claims: a seller that took a payment and delivered nothing is listed, its settlement verified on chain', async () => {
    const user = tookAndRan.userAddress as Address;
    const report = await auditUser(user);
    expect(report.discrepancies).toEqual([]);
    const [row] = await getSql()<{ id: string; tx: string; nonce: string }[]>`
      select c.id::text, c.settlement_tx_hash as tx, p.nonce from ai_agent_x402_claims c
      join ai_agent_x402_payments p on p.id = c.payment_id where c.task_id = ${tookAndRan.id}`;
    // The chain itself: that transaction used the agent's authorization and paid the seller.
    const receipt = await getPublicClient().getTransactionReceipt({ hash: row!.tx as Hex });
    const used = parseEventLogs({ abi: testUSDCAbi, logs: receipt.logs, eventName: 'AuthorizationUsed' });
    expect(used.map((l) => l.args.nonce.toLowerCase())).toEqual([row!.nonce.toLowerCase()]);
    expect(report.claims).toEqual([
      {
        id: row!.id,
        user: user.toLowerCase(),
        agent: tookAndRan.agentAddress.toLowerCase(),
        taskId: tookAndRan.id,
        sequenceNumber: 1,
        payTo: server.payTo.toLowerCase(),
        amount: tookAndRan.pricePerMint,
        status: 'open',
        createdAt: expect.any(String),
        settlementTxHash: row!.tx.toLowerCase(),
        settlementBlock: receipt.blockNumber.toString(),
        verified: true,
      },
    ]);
    expect(report.users[0]!.tasks[0]).toMatchObject({ x402Settled: 1, x402Delivered: 0, x402Undelivered: 1 });
    expect(report.notes.join('\n')).toContain(
      `x402 task ${tookAndRan.id} (failed) paid for 1 mint(s) whose tokens have not arrived (1 open claim(s))`,
    );
    const text = formatAudit(report);
    expect(text).toMatch(
      /claims: 1 \(1 open, [\d.]+ USDC taken without delivery; 1 settlement\(s\) verified on chain\)/,
    );
    expect(text).toContain(row!.tx.toLowerCase());
  });

  it('x402_claim_unverified: a claim whose settlement transaction did not move its USDC from the agent to the seller', async () => {
    const { user, terms, task } = await endedTask(3, 'failed');
    for (let seq = 1; seq <= 3; seq++) {
      const payment = await signPayment(user, task, terms);
      await recordPayment(task.id, seq, payment, 'settled', await settleAsSeller(payment));
    }
    const ids = await getSql()<{ id: string }[]>`
      select id::text from ai_agent_x402_payments where task_id = ${task.id} order by sequence_number`;
    // The worker's own claim writer: each claim copies its payment's evidence.
    expect(
      await insertX402Claims({
        taskId: task.id,
        paymentIds: ids.map((r) => r.id),
        arrivedAmount: 0n,
        expectedAmount: null,
      }),
    ).toBe(3);
    // Two records that accuse the seller of what the chain does not show: twice the USDC, and another transaction.
    await getSql()`update ai_agent_x402_claims set amount = amount * 2 where payment_id = ${ids[1]!.id}`;
    await getSql()`update ai_agent_x402_claims set settlement_tx_hash = ${task.fundingTxHash} where payment_id = ${ids[2]!.id}`;
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['x402_claim_unverified', 'x402_claim_unverified']);
    expect(report.discrepancies.map((d) => [d.sequenceNumber, d.txHash]).sort()).toEqual([
      [2, expect.any(String)],
      [3, task.fundingTxHash!.toLowerCase()],
    ]);
    expect(report.discrepancies.find((d) => d.sequenceNumber === 2)!.message).toMatch(
      /did not move \d+ USDC from the agent/,
    );
    expect(report.discrepancies.find((d) => d.sequenceNumber === 3)!.message).toMatch(
      /did not use the payment's authorization/,
    );
    expect(report.claims.map((c) => [c.sequenceNumber, c.verified])).toEqual([
      [1, true],
      [2, false],
      [3, false],
    ]);
    expect(formatAudit(report)).toContain('3 open');
    expect(formatAudit(report)).toContain('1 settlement(s) verified on chain, 2 NOT');
  });

  it('x402_delivery_not_on_chain: deliveries the ledger counted that the chain does not have as counted', async () => {
    const { user, terms, task } = await endedTask(2, 'failed');
    const payment = await signPayment(user, task, terms);
    const settlement = await settleAsSeller(payment);
    await recordPayment(task.id, 1, payment, 'settled', settlement);
    const insertDelivery = (txHash: Hex, logIndex: number) => getSql()`
      insert into ai_agent_x402_deliveries (task_id, token, recipient, tx_hash, log_index, block_number, amount)
      values (${task.id}, ${server.tokenAddress.toLowerCase()}, ${user.toLowerCase()}, ${txHash}, ${logIndex}, 1, ${server.mintAmount.toString()})`;
    // A transaction that never happened, and the USDC settlement counted as the token's delivery.
    const invented = keccak256(toHex('a delivery that never happened'));
    await insertDelivery(invented, 0);
    const receipt = await getPublicClient().getTransactionReceipt({ hash: settlement });
    const [usdcTransfer] = parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: 'Transfer' });
    await insertDelivery(settlement, usdcTransfer!.logIndex);
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['x402_delivery_not_on_chain', 'x402_delivery_not_on_chain']);
    const messages = report.discrepancies.map((d) => d.message).join('\n');
    expect(messages).toContain(`transaction ${invented} is not on chain`);
    expect(messages).toMatch(new RegExp(`moved ${terms.requirement.asset.toLowerCase()}, the task buys`));
  });

  it('x402_dead_authorization_settled: authorizations the ledger let go, settled by the seller after the task ended', async () => {
    const { user, terms, task } = await endedTask(5);
    const price = BigInt(terms.requirement.amount);
    const payments = [];
    for (let i = 0; i < 5; i++) payments.push(await signPayment(user, task, terms));
    // Expired by the worker's clock (the chain's still said valid), cancelled, refused as unpaid.
    await recordPayment(task.id, 1, payments[0]!, 'expired');
    await recordPayment(task.id, 2, payments[1]!, 'cancelled');
    await recordPayment(task.id, 3, payments[2]!, 'unpaid');
    // Cancelled for real: the operator submits the agent's CancelAuthorization, so no seller can use it.
    await recordPayment(task.id, 4, payments[3]!, 'cancelled');
    const agent = await agentOf(user);
    const cancel = await createX402Signer(agent.account, {
      agent: agent.account.address,
      user,
      token: server.tokenAddress,
      terms,
      funding: BigInt(task.totalCost),
    }).signCancel(payments[3]!.authorization.nonce, {
      chainId: getChain().id,
      verifyingContract: terms.requirement.asset as Address,
    });
    await waitFor(
      await walletFor(anvilAccount(0)).writeContract({
        address: getKnownContracts().usdc,
        abi: testUSDCAbi,
        functionName: 'cancelAuthorization',
        args: [agent.account.address, payments[3]!.authorization.nonce, cancel],
      }),
    );
    // A delivered mint's payment the seller settles later: still open in the ledger, in flight, not a theft.
    await recordPayment(task.id, 5, payments[4]!, 'sent');

    const settled = [];
    for (const p of [payments[0]!, payments[1]!, payments[2]!, payments[4]!]) settled.push(await settleAsSeller(p));
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(Array(3).fill('x402_dead_authorization_settled'));
    expect(
      report.discrepancies.map((d) => [d.taskId, d.sequenceNumber, d.expected, d.txHash, d.amount]).sort(),
    ).toEqual([
      [task.id, 1, 'expired', settled[0], price.toString()],
      [task.id, 2, 'cancelled', settled[1], price.toString()],
      [task.id, 3, 'unpaid', settled[2], price.toString()],
    ]);
    expect(report.users[0]!.usdc).toMatchObject({ x402Paid: '0', inFlight: price.toString() });
    expect(report.notes.join('\n')).toMatch(/not yet closed in the ledger/);
  });

  it('x402_mismatch: a payment the ledger has as settled that never moved, and USDC to the payee outside the ledger', async () => {
    const { user, terms, task } = await endedTask(2, 'failed');
    const price = BigInt(terms.requirement.amount);
    // The seller answered 200 with a settlement header naming a transaction that settled nothing.
    const claimed = keccak256(toHex('a settlement that never happened'));
    await recordPayment(task.id, 1, await signPayment(user, task, terms), 'settled', claimed);
    // The agent key pays the payee directly: no authorization, no ledger row.
    const agent = await agentOf(user);
    await sendEth(anvilAccount(0), agent.address, parseEther('0.01'));
    const direct = await agent.client.writeContract({
      address: getKnownContracts().usdc,
      abi: erc20Abi,
      functionName: 'transfer',
      args: [terms.requirement.payTo as Address, price],
    });
    await waitFor(direct);
    const report = await auditUser(user);
    expect(kindsOf(report)).toEqual(['x402_mismatch', 'x402_mismatch']);
    const ledgerOnly = report.discrepancies.find((d) => d.sequenceNumber === 1)!;
    expect(ledgerOnly).toMatchObject({
      taskId: task.id,
      txHash: claimed,
      expected: price.toString(),
      actual: '0',
    });
    expect(ledgerOnly.message).toMatch(/never moved any USDC/);
    expect(report.discrepancies.find((d) => d.txHash === direct)).toMatchObject({
      expected: '0',
      actual: price.toString(),
      amount: price.toString(),
    });
  });

  it('progress_mismatch on an x402 task: mints counted done that the deliveries ledger does not have', async () => {
    // Nothing paid, one mint counted done.
    const unpaid = await endedTask(2, 'failed');
    await setTaskProgress(unpaid.task.id, 1);
    // Both mints paid (settled on chain), counted done and completed, but no token arrived: the
    // payments alone would pass it; the deliveries ledger does not.
    const paidOnly = await endedTask(2, 'completed');
    for (let seq = 1; seq <= 2; seq++) {
      const payment = await signPayment(paidOnly.user, paidOnly.task, paidOnly.terms);
      await recordPayment(paidOnly.task.id, seq, payment, 'settled', await settleAsSeller(payment));
    }
    await setTaskProgress(paidOnly.task.id, 2);
    for (const [{ user, task }, actual] of [
      [unpaid, '1'],
      [paidOnly, '2'],
    ] as const) {
      const report = await auditUser(user);
      expect(kindsOf(report)).toEqual(['progress_mismatch']);
      expect(report.discrepancies[0]).toMatchObject({ taskId: task.id, expected: '0', actual });
      expect(report.discrepancies[0]!.message).toMatch(/deliveries ledger has 0 mint\(s\) arrived/);
    }
  });

  it('progress_mismatch: a task completed while the deliveries ledger has fewer mints than it bought', async () => {
    await getSql()`update ai_agent_tasks set mints_completed = 2 where id = ${paid.id}`;
    // The last delivery the worker counted is lost from the ledger (put back as it was afterwards).
    const [removed] = await getSql()<
      { token: string; recipient: string; tx: string; log: number; block: string; amount: string }[]
    >`
      delete from ai_agent_x402_deliveries where id = (select max(id) from ai_agent_x402_deliveries where task_id = ${paid.id})
      returning token, recipient, tx_hash as tx, log_index as log, block_number::text as block, amount::text`;
    try {
      const report = await auditUser(paid.userAddress as Address);
      expect(kindsOf(report)).toEqual(['progress_mismatch']);
      expect(report.discrepancies[0]).toMatchObject({ taskId: paid.id, expected: '3', actual: '2' });
      expect(report.users[0]!.tasks[0]).toMatchObject({ x402Settled: 3, x402Delivered: 2, x402Undelivered: 1 });
    } finally {
      const r = removed!;
      await getSql()`insert into ai_agent_x402_deliveries (task_id, token, recipient, tx_hash, log_index, block_number, amount)
        values (${paid.id}, ${r.token}, ${r.recipient}, ${r.tx}, ${r.log}, ${r.block}, ${r.amount})`;
      await setTaskProgress(paid.id, 3);
    }
  });

  it('a counter that trails the deliveries (tokens that came after the task ended) is no error', async () => {
    await setTaskProgress(paid.id, 2, 'failed');
    try {
      const report = await auditUser(paid.userAddress as Address);
      expect(report.discrepancies).toEqual([]);
      expect(report.users[0]!.tasks[0]).toMatchObject({ x402Settled: 3, x402Delivered: 3 });
    } finally {
      await setTaskProgress(paid.id, 3, 'completed');
    }
  });
});
