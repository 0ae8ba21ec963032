import {
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  http,
  keccak256,
  parseEther,
  type Address,
  type Hex,
} from 'viem';
import { toAccount } from 'viem/accounts';
import { getSql } from '@/db/client';
import { getChain, getKnownContracts, getOperatorWalletClient } from '@/lib/chain/clients';
import { paidMintTokenAbi } from '@/lib/chain/contracts.generated';
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { mintIdOf } from '@/lib/chain/mint-id';
import { createMintAuthorizer } from '@/lib/chain/mint-signature';
import { readPaidMintToken } from '@/lib/chain/tokens';
import { getConfig } from '@/lib/config';
import { getOrCreateAgentWallet, unlockAgentAccount } from '@/lib/wallets/agent-wallets';
import { createGuardedSigner } from '@/lib/wallets/tx-guard';
import { anvilAccount } from '@/scripts/local/anvil';
import { keccak, nativeAccount, nativeBackend } from '@/lib/chain/native-crypto';
import { getWorkerClient } from '@/worker/rpc';
import { transitionTask } from '@/db/tasks';
import { createPendingTask } from '@/test/support/fixtures';
import { cpuNow, cpuSince, type Cpu } from './cpu';

// The two baselines the executor is measured against, using the same agent wallet machinery
// (key vault, transaction guard, mint signer) so only the sending strategy differs.

const client = () => getWorkerClient();

/** Sends USDC from anvil account 0 (which holds test USDC) to an address. */
export async function sendUsdc(to: Address, amount: bigint) {
  const funder = createWalletClient({
    account: anvilAccount(0),
    chain: getChain(),
    transport: http(getConfig().rpcUrl),
  });
  const hash = await funder.writeContract({
    address: getKnownContracts().usdc,
    abi: erc20Abi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await client().waitForTransactionReceipt({ hash });
}

/** A task the worker can take at once: created, its USDC on its agent, marked funded (without the fund route). */
export async function fundedTask(userAddress: Address, token: Address, quantity: number) {
  const task = await createPendingTask({ userAddress, token, quantity });
  await sendUsdc(task.agentAddress as Address, BigInt(task.totalCost));
  await transitionTask({ id: task.id, from: 'pending_payment', to: 'funded', set: { fundedAt: new Date() } });
  return task;
}

/**
 * Runs `f` from the chain state of now and puts the chain back after it (evm_snapshot, evm_revert),
 * so every measured run starts from the same chain. Anvil's cost per block grows with its state
 * and history (it measured ~1.4 ms for an empty block on a fresh chain, ~20 ms after 1,000 blocks
 * of transfers), and the seed loop alone adds 200 blocks a run: without this, every run paid for
 * the ones before it, and the more blocks a strategy makes the more it paid.
 */
export async function fromSameChain<T>(f: () => Promise<T>): Promise<T> {
  const snapshot = await anvilRpc('evm_snapshot');
  try {
    return await f();
  } finally {
    await anvilRpc('evm_revert', [snapshot]);
  }
}

/** A JSON-RPC call viem has no action for (anvil's evm_snapshot, evm_setAutomine…); its result. */
export async function anvilRpc(method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(getConfig().rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await response.json()) as { result: unknown }).result;
}

/** The middle of `xs` (the upper one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** An agent ready to mint `quantity` times: ETH for gas, USDC, and the approval. */
export async function prepareAgent(userAddress: Address, token: Address, quantity: number) {
  const task = await createPendingTask({ userAddress, token, quantity });
  const wallet = await getOrCreateAgentWallet(userAddress);
  const agent = wallet.agentAddress as Address;
  const info = await readPaidMintToken(token);
  const cost = info.pricePerMint * BigInt(quantity);
  await client().waitForTransactionReceipt({
    hash: await getOperatorWalletClient().sendTransaction({ to: agent, value: parseEther('1') }),
  });
  await sendUsdc(agent, cost);
  const signer = createGuardedSigner(unlockAgentAccount(wallet, nativeAccount), {
    agent,
    user: userAddress,
    usdc: getKnownContracts().usdc,
    chainId: getChain().id,
    task: { token, remainingCost: cost },
  });
  const fees = feesOf(await quoteFees(client(), { maxFeeGwei: getConfig().worker.maxFeeGwei }));
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [token, cost] });
  const nonce = await client().getTransactionCount({ address: agent, blockTag: 'pending' });
  const raw = await signer.signTransaction({
    type: 'eip1559',
    chainId: getChain().id,
    to: getKnownContracts().usdc,
    data,
    nonce,
    gas: 80_000n,
    ...fees,
  });
  await client().waitForTransactionReceipt({ hash: await client().sendRawTransaction({ serializedTransaction: raw }) });
  const authorizer = await createMintAuthorizer(
    client(),
    { address: token, name: info.name, chainId: getChain().id },
    nativeBackend,
  );
  return { task, agent, signer, authorizer, user: userAddress, token };
}

type Prepared = Awaited<ReturnType<typeof prepareAgent>>;

async function mintArgs(p: Prepared, seq: number) {
  const mintId = mintIdOf(p.task.id, seq, keccak);
  const { v, r, s } = await p.authorizer.sign({ payer: p.agent, to: p.user, mintId });
  return [p.user, mintId, v, r, s] as const;
}

/** (a) The seed's loop: writeContract one mint, wait for its receipt, update progress, next. Returns per-mint ms. */
export async function runSeedLoop(p: Prepared, count: number): Promise<number[]> {
  const account = toAccount({
    address: p.agent,
    signTransaction: (tx) => p.signer.signTransaction(tx as never),
    signMessage: () => Promise.reject(new Error('not used')),
    signTypedData: () => Promise.reject(new Error('not used')),
  });
  const wallet = createWalletClient({ account, chain: getChain(), transport: http(getConfig().rpcUrl) });
  const times: number[] = [];
  for (let seq = 1; seq <= count; seq++) {
    const started = performance.now();
    const hash = await wallet.writeContract({
      address: p.token,
      abi: paidMintTokenAbi,
      functionName: 'mint',
      args: await mintArgs(p, seq),
    });
    await client().waitForTransactionReceipt({ hash });
    await getSql()`update ai_agent_tasks set mints_completed = ${seq} where id = ${p.task.id}`;
    times.push(performance.now() - started);
  }
  return times;
}

/**
 * (b) The chain's raw limit: `count` pre-signed mints sent as fast as possible, then every
 * receipt. Returns the send-to-last-receipt ms and its CPU, and the ms the signing (authorization + tx) took.
 */
export async function runRawLimit(p: Prepared, count: number): Promise<{ ms: number; signMs: number; cpu: Cpu }> {
  const fees = feesOf(await quoteFees(client(), { maxFeeGwei: getConfig().worker.maxFeeGwei }));
  const nonce = await client().getTransactionCount({ address: p.agent, blockTag: 'pending' });
  const raws: Hex[] = [];
  const signStarted = performance.now();
  for (let i = 0; i < count; i++) {
    const data = encodeFunctionData({ abi: paidMintTokenAbi, functionName: 'mint', args: await mintArgs(p, i + 1) });
    raws.push(
      await p.signer.signTransaction({
        type: 'eip1559',
        chainId: getChain().id,
        to: p.token,
        data,
        nonce: nonce + i,
        gas: 200_000n,
        ...fees,
      }),
    );
  }
  const signMs = performance.now() - signStarted;
  const hashes = raws.map((r) => keccak256(r));
  const cpu = cpuNow();
  const started = performance.now();
  await Promise.all(raws.map((serializedTransaction) => client().sendRawTransaction({ serializedTransaction })));
  let pending = hashes;
  // Polled on the executor's schedule (2, 4, 8, 16, then every 20 ms), so neither side gains from coarser polling.
  for (let round = 0; pending.length; round++) {
    const found = await Promise.all(
      pending.map((hash) =>
        client()
          .getTransactionReceipt({ hash })
          .catch(() => null),
      ),
    );
    pending = pending.filter((_, i) => !found[i]);
    if (pending.length) await new Promise((r) => setTimeout(r, Math.min(20, 2 * 2 ** round)));
  }
  return { ms: performance.now() - started, signMs, cpu: cpuSince(cpu) };
}
