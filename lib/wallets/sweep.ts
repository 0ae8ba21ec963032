import {
  getAddress,
  keccak256,
  parseEther,
  TransactionReceiptNotFoundError,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from 'viem';
import { estimateL1Fee } from 'viem/op-stack';
import {
  clearEthSweepDue,
  hasBusyTaskByWallet,
  insertEthSweep,
  listSentEthSweepsByWallet,
  settleEthSweep,
} from '@/db/eth-sweeps';
import { getLatestGasTopUpByUser } from '@/db/gas-topups';
import type { AgentWallet } from '@/db/schema';
import { LockBusy, withUserFundingLock } from '@/db/task-funding';
import { getChain, getKnownContracts, getOperatorAccount, getPublicClient } from '../chain/clients';
import { feesOf, quoteFees } from '../chain/fees';
import { waitForReceipt } from '../chain/receipts';
import { classifyChainError } from '../chain/revert-reasons';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { unlockAgentAccount } from './agent-wallets';
import { createGuardedSigner } from './tx-guard';
import { AgentBusy, withWalletLock } from './wallet-lock';

// An agent wallet's ETH is the operator's: top-ups are sized for a task with a margin
// (gas-topup.ts), and what the agent did not burn comes back here once the wallet is idle, so no
// user parks the operator's money. A sweep is one plain transfer from the agent to the operator
// (the only thing a sweep's guarded signer may sign) of what the wallet holds beyond AGENT_MIN_ETH,
// less the sweep's own gas at the quoted max fee, and only when it returns more than that gas.
// Afterwards the agent holds the floor plus what the sweep's gas did not use of its max fee.
//
// It moves the wallet's money as a withdrawal does, under the same two locks in the same order
// (withdraw.ts): the user's funding lock (no funding, with its early top-up, is being checked, and
// none is on its way) and the wallet's lock (no task of it is claimed meanwhile, none of its
// transactions is in flight: one sender per agent wallet at any time). Under them it refuses while
// a task of the wallet is funded or processing. It sends and lets go; the receipt is awaited with
// nothing held. An EIP-7702-delegated agent sends it like any EOA (its code runs only when called).

/** A sweep is sent only when the wallet holds more than the floor plus this many times the sweep's most gas. */
const SWEEP_WORTH = 2n;

/** The most gas a sweep may use: a plain transfer to an EOA takes 21,000; an operator whose code asks for more is not swept to. */
const SWEEP_MAX_GAS = 50_000n;

/**
 * A withdrawal's own top-up (one with no task) younger than this is left alone: the withdrawal
 * sends its transfer within a turn or two of it (withdraw.ts), and sweeping that gas away would
 * make it top up again.
 */
export const SWEEP_QUIET_MS = 60_000;

export type SweepResult =
  | { swept: true; txHash: Hex; amountWei: bigint; maxGasWei: bigint; confirmed: boolean }
  | { swept: false; reason: string };

/**
 * Sweeps one wallet if it is idle and holds enough to be worth it. Never throws for a busy wallet
 * (`swept: false` says why; its mark stays, so the worker's tick comes back); throws when the
 * database or the node fails. `signal` stops the wait for the receipt (a draining worker).
 */
export async function sweepAgentEth(wallet: AgentWallet, { signal }: { signal?: AbortSignal } = {}) {
  let step: SweepResult & { id?: string };
  try {
    step = await withUserFundingLock(wallet.userAddress, () => sweepLocked(wallet), {
      waitMs: 2_000,
      connections: 3, // the funding lock's, the wallet lock's, and one query at a time inside
    });
  } catch (error) {
    if (error instanceof LockBusy) return { swept: false, reason: 'a funding or withdrawal holds the wallet' } as const;
    throw error;
  }
  if (!step.swept) return step;
  const { id, ...sent } = step;
  return { ...sent, confirmed: await awaitSweep(id!, sent.txHash, signal) } satisfies SweepResult;
}

async function sweepLocked(wallet: AgentWallet): Promise<SweepResult & { id?: string }> {
  try {
    return await withWalletLock(wallet, async () => {
      if (await hasBusyTaskByWallet({ agentWalletId: wallet.id }))
        return { swept: false, reason: 'a task of the wallet is funded or running' };
      const latest = await getLatestGasTopUpByUser({ userAddress: wallet.userAddress });
      if (latest && !latest.taskId && Date.now() - latest.createdAt.getTime() < SWEEP_QUIET_MS)
        return { swept: false, reason: "a withdrawal's gas top-up is recent" };
      await settleEarlierSweeps(wallet);
      return sendSweep(wallet);
    });
  } catch (error) {
    if (error instanceof AgentBusy) return { swept: false, reason: 'a transaction of the agent is in flight' };
    throw error;
  }
}

async function sendSweep(wallet: AgentWallet): Promise<SweepResult & { id?: string }> {
  const client = getPublicClient();
  const agent = getAddress(wallet.agentAddress);
  const operator = getOperatorAccount().address;
  const floor = parseEther(getConfig().worker.agentMinEth);
  const [balance, arriving, quote, nonce] = await Promise.all([
    client.getBalance({ address: agent }),
    client.getBalance({ address: agent, blockTag: 'pending' }),
    quoteFees(client, { maxFeeGwei: getConfig().worker.maxFeeGwei }),
    client.getTransactionCount({ address: agent, blockTag: 'pending' }),
  ]);
  // ETH on its way to the agent (a top-up the node holds unmined) is for transactions about to be
  // sent: leave the wallet, marked, to the tick once it is mined and its sender is done.
  if (arriving > balance) return { swept: false, reason: 'a gas top-up is on its way' };
  const kept = async (reason: string) => {
    await clearEthSweepDue({ agentWalletId: wallet.id });
    return { swept: false, reason } as const;
  };
  if (balance <= floor) return kept(`holds ${balance} wei, at most the floor`);
  const [gas, l1Fee] = await Promise.all([
    client.estimateGas({ account: agent, to: operator, value: 1n }),
    l1FeeOf(client, agent, operator),
  ]);
  if (gas > SWEEP_MAX_GAS) {
    getLogger().error({ operator, gas: gas.toString() }, 'no ETH sweep: a transfer to the operator needs too much gas');
    return kept(`a transfer to the operator needs ${gas} gas`);
  }
  const maxGasWei = gas * quote.maxFeePerGas + l1Fee;
  if (balance <= floor + SWEEP_WORTH * maxGasWei)
    return kept(`holds ${balance} wei, not worth a sweep of ${maxGasWei} wei of gas`);
  const amountWei = balance - floor - maxGasWei;
  const chainId = getChain().id;
  const signer = createGuardedSigner(unlockAgentAccount(wallet), {
    agent,
    user: getAddress(wallet.userAddress),
    usdc: getKnownContracts().usdc,
    chainId,
    operator,
  });
  const raw = await signer.signTransaction({
    type: 'eip1559',
    chainId,
    to: operator,
    value: amountWei,
    nonce,
    gas,
    ...feesOf(quote),
  });
  const txHash = keccak256(raw);
  const id = await insertEthSweep({
    agentWalletId: wallet.id,
    userAddress: wallet.userAddress,
    amountWei,
    maxGasWei,
    nonce,
    txHash,
  });
  try {
    await client.sendRawTransaction({ serializedTransaction: raw });
  } catch (error) {
    // Refused before broadcast: nothing left the wallet. A timeout may have been sent: it stays 'sent'.
    if (classifyChainError(error).reason !== 'timeout') await settleEthSweep({ id, status: 'failed' });
    throw error;
  }
  await clearEthSweepDue({ agentWalletId: wallet.id });
  getLogger().info(
    { agent, amountWei: amountWei.toString(), maxGasWei: maxGasWei.toString(), txHash },
    'agent ETH swept back to the operator',
  );
  return { swept: true, txHash, amountWei, maxGasWei, confirmed: false, id };
}

/** The L1 data fee a transfer pays on an OP-stack chain (Base), on top of its gas; 0 elsewhere. */
async function l1FeeOf(client: PublicClient, agent: Address, operator: Address): Promise<bigint> {
  const oracle = getChain().contracts?.gasPriceOracle;
  if (!oracle || !('address' in oracle)) return 0n;
  const gasPriceOracleAddress = oracle.address as Address;
  return estimateL1Fee(client, { account: agent, chain: getChain(), to: operator, value: 1n, gasPriceOracleAddress });
}

/**
 * Records the wallet's earlier sweeps still 'sent' (their sender drained, died or stopped waiting
 * before the receipt). Under the wallet lock none of the agent's transactions is in flight, so each
 * is mined (its receipt settles it) or is not on the node; one whose nonce another transaction has
 * used since can never be mined, and failed. One not sent at all (a kill between recording and
 * sending) has its nonce taken by the sweep about to be sent, and fails at the next look.
 */
async function settleEarlierSweeps(wallet: AgentWallet): Promise<void> {
  const sent = await listSentEthSweepsByWallet({ agentWalletId: wallet.id });
  if (sent.length === 0) return;
  const client = getPublicClient();
  const used = await client.getTransactionCount({ address: getAddress(wallet.agentAddress), blockTag: 'latest' });
  for (const sweep of sent) {
    const receipt = await client.getTransactionReceipt({ hash: sweep.txHash as Hex }).catch((error: unknown) => {
      if (error instanceof TransactionReceiptNotFoundError) return undefined;
      throw error;
    });
    if (receipt) await recordReceipt(sweep.id, receipt);
    else if (used > sweep.nonce) await settleEthSweep({ id: sweep.id, status: 'failed' });
  }
}

/** Settles a sweep from its receipt; true when it moved the ETH. */
async function recordReceipt(id: string, receipt: TransactionReceipt): Promise<boolean> {
  const l1Fee = (receipt as { l1Fee?: bigint | null }).l1Fee ?? 0n;
  const gasCostWei = receipt.gasUsed * receipt.effectiveGasPrice + l1Fee;
  await settleEthSweep({ id, status: receipt.status === 'success' ? 'confirmed' : 'failed', gasCostWei });
  return receipt.status === 'success';
}

/** Waits for the sweep's receipt with no lock held and records it; false when it is not mined in time (it stays 'sent' for the next sweep of the wallet to record). */
async function awaitSweep(id: string, txHash: Hex, signal: AbortSignal | undefined): Promise<boolean> {
  const client = getPublicClient();
  let stop = () => {};
  const stopped = new Promise<undefined>((resolve) => (stop = () => resolve(undefined)));
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const receipt = await Promise.race([
    waitForReceipt(client, txHash, getConfig().worker.receiptTimeoutMs).catch(() => undefined),
    stopped,
  ]).finally(() => signal?.removeEventListener('abort', stop));
  return receipt ? recordReceipt(id, receipt) : false;
}
