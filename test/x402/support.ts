import {
  createPublicClient,
  createWalletClient,
  erc20Abi,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { afterAll, beforeAll } from 'vitest';
import { getSql } from '@/db/client';
import { getTaskById } from '@/db/tasks';
import { listX402PaymentsByTask } from '@/db/x402-payments';
import { getPublicClient } from '@/lib/chain/clients';
import { deployTestUsdc } from '@/lib/chain/deploy';
import { writeDeployment } from '@/lib/chain/deployment';
import { anvilAccount, startAnvil } from '@/scripts/local/anvil';
import { freePort } from '@/scripts/local/ports';
import type { X402MintServer, X402MintServerOptions } from '@/scripts/local/x402-mint-server';
import type { MintWorker } from '@/worker/loop';
import { startLaggingNode, type LaggingNode } from '../support/lagging-node';
import { startTestStack, type TestStack } from '../support/stack';
import { startMintWorker } from '../worker/support';

// Probing an endpoint and creating a funded x402 task are shared with the benchmarks: test/support/x402.ts.
export { createFundedX402Task, probeTerms } from '../support/x402';

/** An anvil of its own as `chainId` (84532 = base-sepolia, a name v1 endpoints use) with only a TestUSDC on it. */
export async function startUsdcChain(chainId: number) {
  const anvil = await startAnvil({ port: await freePort(), chainId });
  const chain = {
    id: chainId,
    name: 'test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.url] } },
  };
  const client = createPublicClient({ chain, transport: http(anvil.url), pollingInterval: 20 }) as PublicClient;
  const usdc = await deployTestUsdc(
    createWalletClient({ account: anvilAccount(0), chain, transport: http(anvil.url) }),
    client as never,
  );
  return { anvil, client, usdc };
}

export type X402Setup = { stack: TestStack; server: X402MintServer; worker?: MintWorker; stop(): Promise<void> };

/**
 * What the x402 integration files start: a test stack whose probe and worker may reach
 * 127.0.0.1, the local x402 mint server (official @x402 packages) paid in that chain's USDC and,
 * with `workerId`, an in-process MintWorker. `stop` ends what started, last first; a failed start
 * ends it too before throwing.
 */
export async function startX402Setup(
  options: {
    env?: Record<string, string>;
    server?: Omit<X402MintServerOptions, 'rpcUrl' | 'usdc'>;
    workerId?: string;
    /** Instead of the stack's chain: an anvil of its own as this chain id, with only a TestUSDC (startUsdcChain). */
    chainId?: number;
    /** Mine a block every this many ms once all is up (startBlockMiner), so chain time moves as on a live chain. */
    mineEveryMs?: number;
    /**
     * With `chainId`: a node in front of that chain (test/support/lagging-node.ts) that the app and
     * the worker use; the seller settles through the chain itself.
     */
    rpcFront?: (chainUrl: string) => Promise<{ url: string; stop(): Promise<void> }>;
  } = {},
): Promise<X402Setup> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const own = options.chainId === undefined ? undefined : await startUsdcChain(options.chainId);
    if (own) stops.push(() => own.anvil.stop());
    const front = own && options.rpcFront ? await options.rpcFront(own.anvil.url) : undefined;
    if (front) stops.push(() => front.stop());
    const env = {
      ...(own && { RPC_URL: front?.url ?? own.anvil.url }),
      X402_ALLOWED_HOSTS: '127.0.0.1',
      ...options.env,
    };
    const stack = await startTestStack(own ? { chain: false, env } : { env });
    stops.push(() => stack.stop());
    const rpcUrl = own?.anvil.url ?? stack.anvil.url;
    const usdc = own?.usdc ?? stack.deployment.usdc;
    if (own)
      writeDeployment(stack.env.DEPLOYMENT_FILE!, {
        chainId: options.chainId!,
        usdc,
        tokens: [],
        deployedAt: new Date().toISOString(),
      });
    // Imported only now: they read the environment the stack has just set.
    const { startX402MintServer } = await import('@/scripts/local/x402-mint-server');
    const server = await startX402MintServer({ rpcUrl, usdc, ...options.server });
    stops.push(() => server.stop());
    let worker: MintWorker | undefined;
    if (options.workerId) {
      const started = await startMintWorker({ id: options.workerId });
      stops.push(() => started.stop());
      worker = started;
    }
    if (options.mineEveryMs !== undefined) {
      const stopMiner = startBlockMiner(rpcUrl, options.mineEveryMs);
      stops.push(async () => stopMiner());
    }
    return { stack, server, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * startX402Setup for a whole test file: started before its tests (120 s), stopped after them
 * (30 s). The fields are filled in by the time the tests run: read them inside tests.
 */
export function useX402Setup(options?: Parameters<typeof startX402Setup>[0]): X402Setup {
  const setup = {} as X402Setup;
  beforeAll(async () => {
    Object.assign(setup, await startX402Setup(options));
  }, 120_000);
  afterAll(() => setup.stop?.(), 30_000);
  return setup;
}

/**
 * useX402Setup with the app and the worker reading the chain through a lagging node
 * (test/support/lagging-node.ts) in front of an anvil of its own: `lagging.node` holds and
 * releases it, `chain()` reads the chain itself, past the node. The node is released before the
 * set-up stops (registered after its afterAll, so it runs first): a held node would stall the stop.
 */
export function useX402SetupBehindLaggingNode(
  options: Omit<NonNullable<Parameters<typeof startX402Setup>[0]>, 'chainId' | 'rpcFront'>,
) {
  const lagging = {} as { node: LaggingNode; chainUrl: string };
  const setup = useX402Setup({
    ...options,
    chainId: 31337,
    rpcFront: async (url) => {
      lagging.chainUrl = url;
      return (lagging.node = await startLaggingNode(url));
    },
  });
  afterAll(() => lagging.node?.release());
  return { setup, lagging, chain: () => createPublicClient({ transport: http(lagging.chainUrl) }) };
}

export const balanceOf = (token: Address, owner: Address) =>
  getPublicClient().readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [owner] });

/** USDC the agent paid to the endpoint on chain (AuthorizationUsed transfers to payTo), by nonce. */
export async function settledOnChain(usdc: Address, agent: Address, payTo: Address) {
  const logs = await getPublicClient().getLogs({
    address: usdc,
    event: {
      type: 'event',
      name: 'Transfer',
      inputs: [
        { name: 'from', type: 'address', indexed: true },
        { name: 'to', type: 'address', indexed: true },
        { name: 'value', type: 'uint256', indexed: false },
      ],
    },
    args: { from: agent, to: payTo },
    fromBlock: 0n,
  });
  return {
    count: logs.length,
    total: logs.reduce((s, l) => s + (l.args.value ?? 0n), 0n),
    txHashes: new Set(logs.map((l) => l.transactionHash as Hex)),
  };
}

/**
 * The ledger equals the chain for one task: settled rows = the agent's USDC transfers to the
 * payee (same tx hashes, none twice), mints completed = settled rows, and the chain's spend
 * never above the task's funding.
 */
export async function ledgerVsChain(taskId: string, server: Pick<X402MintServer, 'usdc' | 'payTo'>) {
  const task = (await getTaskById({ id: taskId }))!;
  const rows = await listX402PaymentsByTask({ taskId });
  const settled = rows.filter((r) => r.status === 'settled');
  const chain = await settledOnChain(server.usdc, task.agentAddress as Address, server.payTo);
  return { task, rows, settled, chain, funding: BigInt(task.totalCost) };
}

export async function resetX402Tables() {
  await getSql()`delete from ai_agent_x402_claims`;
  await getSql()`delete from ai_agent_x402_deliveries`;
  await getSql()`delete from ai_agent_x402_task_state`;
  await getSql()`delete from ai_agent_x402_payments`;
}

/**
 * Mines a block every `ms` (anvil mines only on a transaction): chain time moves as on a live
 * chain, so an authorization expires by chain time while nothing else happens. Returns the stop.
 */
export function startBlockMiner(rpcUrl: string, ms = 500) {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const timer = setInterval(
    () => void client.request({ method: 'evm_mine' as never, params: [] as never }).catch(() => undefined),
    ms,
  );
  return () => clearInterval(timer);
}

/** Transactions the operator has sent (its nonce). */
export const operatorTxCount = (operator: Address) => getPublicClient().getTransactionCount({ address: operator });

/** The task's rows in the gas budget ledger (top-ups, and the cancels the operator sent for it). */
export async function gasBudgetRowsByTask(taskId: string) {
  return getSql()<{ amountWei: string; txHash: string | null }[]>`
    select amount_wei::text as "amountWei", tx_hash as "txHash" from agent_gas_topups where task_id = ${taskId} order by id`;
}

/** The x402 state row of a task (refusals and cancels over all its runs). */
export async function x402StateOf(taskId: string) {
  const [row] = await getSql()<{ refusals: number; operatorCancels: number }[]>`
    select refusals, operator_cancels as "operatorCancels" from ai_agent_x402_task_state where task_id = ${taskId}`;
  return row ?? { refusals: 0, operatorCancels: 0 };
}
