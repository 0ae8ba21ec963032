import { getAddress, type Address, type PublicClient } from 'viem';
import { x402HTTPClient, type x402Client } from '@x402/core/client';
import type { X402Terms } from '@/db/schema';
import type { TaskWithAgent } from '@/db/tasks';
import { getWalletById } from '@/db/wallets';
import { unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { getConfig } from '@/lib/config';
import {
  authorizationLifetime,
  createX402Signer,
  maxMintsPerPayment,
  type X402Policy,
} from '@/lib/wallets/payment-guard';
import { createPaymentClient } from '@/lib/x402/payment-client';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import { nativeAccount } from '@/lib/chain/native-crypto';
import type { Reporter, TaskRef } from '../reporter';
import { getWorkerClient } from '../rpc';
import type { RunOptions } from '../task-executor';

/** Counters of what this run asked of the endpoint (the bench prints them). */
export type X402RequestStats = { paid: number; waits: number; resent: number };

export type X402Runtime = {
  task: TaskRef & { userAddress: Address; walletId: string; fundingTxHash: string | null; retries: number };
  terms: X402Terms;
  policy: X402Policy & { maxLifetimeSeconds: number };
  client: PublicClient;
  reporter: Reporter;
  /** Aborts every wait and request of the run: the worker drains, or the user cancelled the task. */
  signal: AbortSignal;
  /** The worker drains (only): waits that must outlast a cancel (an authorization expiring) use it. */
  drain: AbortSignal;
  workerId: string;
  chainId: number;
  stats: X402RequestStats;
  /** When the run last paid or received something (the stall bound counts from it). */
  lastProgressAt: number;
  /** Time each open payment has spent waiting out 429s, by payment id (bounded per payment). */
  rateLimitedMs: Map<string, number>;
  /** Loaded on first need: the guarded signer and the official client that signs payments with it. */
  signer?: ReturnType<typeof createX402Signer>;
  payments?: x402HTTPClient;
  paymentClient?: x402Client;
};

/** CAIP-2 network of the terms (v1 endpoints name theirs). */
export function caipNetworkOf(terms: X402Terms): `${string}:${string}` {
  const network = terms.requirement.network;
  if (network.includes(':')) return network as `${string}:${string}`;
  const id = (EVM_NETWORK_CHAIN_ID_MAP as Record<string, number>)[network];
  if (!id) throw new Error(`unknown x402 v1 network ${network}`);
  return `eip155:${id}`;
}

export function x402RuntimeOf(task: TaskWithAgent, options: RunOptions): X402Runtime {
  if (task.route !== 'x402' || !task.x402) throw new Error(`task ${task.id} is not an x402 task`);
  const terms = task.x402;
  const agent = task.agentAddress as Address;
  const config = getConfig().x402;
  return {
    task: {
      id: task.id,
      agentAddress: agent,
      tokenAddress: task.tokenAddress,
      quantity: task.quantity,
      mintsCompleted: task.mintsCompleted,
      userAddress: task.userAddress as Address,
      walletId: task.agentWalletId,
      fundingTxHash: task.fundingTxHash,
      retries: task.retries,
    },
    terms,
    policy: {
      agent,
      user: task.userAddress as Address,
      ...(task.recipient && { recipient: getAddress(task.recipient) }),
      token: task.tokenAddress as Address,
      terms,
      funding: BigInt(task.totalCost),
      maxLifetimeSeconds: authorizationLifetime(terms, config.maxAuthorizationSeconds),
    },
    client: getWorkerClient(),
    reporter: options.reporter,
    signal: options.stop,
    drain: options.drain,
    workerId: options.workerId,
    chainId: Number(caipNetworkOf(terms).split(':')[1]),
    stats: { paid: 0, waits: 0, resent: 0 },
    lastProgressAt: Date.now(),
    rateLimitedMs: new Map(),
  };
}

/** Unlocks the agent once per run, behind the x402 guard. */
export async function ensureSigner(rt: X402Runtime) {
  if (rt.signer && rt.payments) return rt;
  const wallet = await getWalletById({ id: rt.task.walletId });
  if (!wallet) throw new Error(`agent wallet of task ${rt.task.id} not found`);
  rt.signer = createX402Signer(unlockAgentAccount(wallet, nativeAccount), rt.policy);
  const req = rt.terms.requirement;
  rt.paymentClient = createPaymentClient(rt.signer.paymentAccount, {
    network: caipNetworkOf(rt.terms),
    asset: req.asset,
    // A payment buys up to mintsPerPayment mints (the guard checks each as units × the price).
    amount: BigInt(req.amount) * BigInt(maxMintsPerPayment(rt.terms)),
    domain: rt.terms.domain,
  });
  rt.payments = new x402HTTPClient(rt.paymentClient);
  return rt;
}
