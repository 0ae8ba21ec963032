import { createWalletClient, http, type Account, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getSql } from '@/db/client';
import type { Task } from '@/db/schema';
import { getTaskById, transitionTask, type TaskWithAgent } from '@/db/tasks';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { runAudit } from '@/lib/audit/run-audit';
import type { AuditReport } from '@/lib/audit/types';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { anvilAccount } from '@/scripts/local/anvil';
import { startRpcFront, type RpcRequest, type RpcResponse } from '../support/rpc-front';

// What the audit's detector tests share: fresh users (one per test, so each audit sees only what
// its test did), money moved the way a user, a stranger or someone holding the agent's key would
// move it, and the audit run in-process over the whole chain.

export const newUser = () => privateKeyToAccount(generatePrivateKey()).address;
export const stranger = () => privateKeyToAccount(generatePrivateKey()).address;

/** A wallet client on the test chain for any account (anvil's, the agent's). */
export function walletFor(account: Account) {
  const chain = { ...getChain(), id: getPublicClient().chain?.id ?? getChain().id };
  return createWalletClient({ account, chain, transport: http(getPublicClient().transport.url as string) });
}

export const waitFor = (hash: Hex) => getPublicClient().waitForTransactionReceipt({ hash });

/** Anvil account 0 owns the test USDC and mints it to anyone: a deposit, with its transaction hash. */
export async function depositUsdc(to: Address, amount: bigint): Promise<Hex> {
  const hash = await walletFor(anvilAccount(0)).writeContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'mint',
    args: [to, amount],
  });
  await waitFor(hash);
  return hash;
}

export async function sendEth(from: Account, to: Address, value: bigint): Promise<Hex> {
  const hash = await walletFor(from).sendTransaction({ to, value });
  await waitFor(hash);
  return hash;
}

/** The agent's own key, as whoever holds it (a compromised worker, a leaked key) would use it. */
export async function agentOf(userAddress: Address) {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const account = unlockAgentAccount(wallet);
  return { wallet, account, client: walletFor(account), address: wallet.agentAddress.toLowerCase() as Address };
}

/** A pending task's USDC arrives (a deposit to its agent) and it is marked funded by that transaction. */
export async function fundTask(task: Pick<TaskWithAgent, 'id' | 'agentAddress' | 'totalCost'>): Promise<Hex> {
  const hash = await depositUsdc(task.agentAddress as Address, BigInt(task.totalCost));
  await transitionTask({
    id: task.id,
    from: 'pending_payment',
    to: 'funded',
    set: { fundedAt: new Date(), fundingTxHash: hash },
  });
  return hash;
}

/** A mint ledger row as the worker writes it once a mint is confirmed. */
export async function writeConfirmedMint(taskId: string, sequenceNumber: number, mintId: Hex, txHash: Hex) {
  await getSql()`
    insert into ai_agent_mint_records (task_id, sequence_number, mint_id, nonce, tx_hash, status, confirmed_at)
    values (${taskId}, ${sequenceNumber}, ${mintId}, 0, ${txHash}, 'confirmed', now())`;
}

export async function setTaskProgress(taskId: string, mintsCompleted: number, status?: Task['status']) {
  await getSql()`update ai_agent_tasks set mints_completed = ${mintsCompleted}, status = coalesce(${status ?? null}, status)
    where id = ${taskId}`;
  return (await getTaskById({ id: taskId }))!;
}

/** One user's audit over the whole chain, not stored. */
export function auditUser(userAddress: Address, options: { rpcUrl?: string } = {}): Promise<AuditReport> {
  return runAudit({ userAddress, fromBlock: 0n, record: false, ...options });
}

/** Each discrepancy as `kind` (sorted), for exact comparisons. */
export const kindsOf = (report: AuditReport) => report.discrepancies.map((d) => d.kind).sort();

/**
 * A JSON-RPC node in front of anvil that leaves out the logs of some transactions from every
 * eth_getLogs answer: what a provider that silently caps or loses log results gives an auditor.
 */
export async function startLogDroppingNode(upstream: string, dropTxHashes: Hex[]) {
  const drop = new Set(dropTxHashes.map((h) => h.toLowerCase()));
  const filter = (request: RpcRequest, response: RpcResponse) => {
    if (request.method === 'eth_getLogs' && Array.isArray(response.result))
      response.result = response.result.filter(
        (l: { transactionHash?: string }) => !drop.has(String(l.transactionHash).toLowerCase()),
      );
    return response;
  };
  return startRpcFront(upstream, filter);
}

/**
 * A JSON-RPC node in front of anvil that holds no state before block `from`: a state read
 * (balance, call, code) at an older block number gets the error anvil gives for a block it never
 * stored, as a pruning (non-archive) node or `npm start`'s anvil restarted from its saved state does.
 */
export async function startPrunedNode(upstream: string, from: bigint) {
  const stateReads = new Set(['eth_getBalance', 'eth_call', 'eth_getCode']);
  const prune = (request: RpcRequest, response: RpcResponse) => {
    const block = (request as { params?: unknown[] }).params?.at(-1);
    if (!request.method || !stateReads.has(request.method)) return response;
    if (typeof block !== 'string' || !block.startsWith('0x') || BigInt(block) >= from) return response;
    return {
      id: response.id,
      jsonrpc: '2.0',
      error: {
        code: -32602,
        message: `BlockOutOfRangeError: block height is ${from} but requested was ${BigInt(block)}`,
      },
    } as RpcResponse;
  };
  return startRpcFront(upstream, prune);
}
