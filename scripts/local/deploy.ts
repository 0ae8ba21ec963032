import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  parseEther,
  parseUnits,
  type Address,
  type PublicClient,
} from 'viem';
import { localChain } from '@/lib/chain/chains';
import { agentBatchExecutorRuntime, testUSDCAbi } from '@/lib/chain/contracts.generated';
import { deployBatchExecutor, deployPaidMintToken, deployTestUsdc } from '@/lib/chain/deploy';
import { readDeployment, writeDeployment, type Deployment } from '@/lib/chain/deployment';
import { anvilAccount } from './anvil';

export const DEMO_USDC_PER_ACCOUNT = parseUnits('10000', 6);
export const DEMO_ACCOUNT_INDEX = 1;

/** The demo tokens of a fresh local chain: cheap enough to mint hundreds with test USDC. */
export const DEMO_TOKENS = [
  {
    name: 'Demo Mint Token',
    symbol: 'DMT',
    pricePerMint: parseUnits('0.1', 6),
    mintAmount: parseEther('1000'),
    maxMintCount: 100_000n,
  },
  {
    name: 'Agent Pixel',
    symbol: 'APX',
    pricePerMint: parseUnits('0.25', 6),
    mintAmount: parseEther('1'),
    maxMintCount: 5_000n,
  },
] as const;

// The chain as the node says it is: tests run anvil under other networks' ids (test/chains).
async function clients(rpcUrl: string) {
  const id = await createPublicClient({ transport: http(rpcUrl) }).getChainId();
  const chain = { ...localChain, id, rpcUrls: { default: { http: [rpcUrl] } } };
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 }) as PublicClient;
  const wallet = createWalletClient({ account: anvilAccount(0), chain, transport: http(rpcUrl) });
  return { publicClient, wallet };
}

/**
 * Deploys TestUSDC and the demo tokens from anvil account 0 and gives USDC to accounts 0–9.
 * Given an existing USDC (USDC_ADDRESS), prices the demo tokens in it and deploys no TestUSDC.
 */
export async function deployLocalContracts(
  rpcUrl: string,
  mintSigner: Address,
  existingUsdc?: Address,
): Promise<Deployment> {
  const { publicClient, wallet } = await clients(rpcUrl);
  const usdc = existingUsdc ?? (await deployTestUsdc(wallet, publicClient));
  const tokens = [];
  for (const t of DEMO_TOKENS) {
    const address = await deployPaidMintToken(wallet, publicClient, { ...t, paymentToken: usdc, mintSigner });
    tokens.push({ address, name: t.name, symbol: t.symbol });
  }
  for (let i = 0; i < 10 && !existingUsdc; i++) {
    const hash = await wallet.writeContract({
      address: usdc,
      abi: testUSDCAbi,
      functionName: 'mint',
      args: [anvilAccount(i).address, DEMO_USDC_PER_ACCOUNT],
    });
    await publicClient.waitForTransactionReceipt({ hash });
  }
  const batchExecutor = await deployBatchExecutor(wallet, publicClient);
  return { chainId: publicClient.chain!.id, usdc, tokens, batchExecutor, deployedAt: new Date().toISOString() };
}

/** Tops the operator up from anvil account 0 so it can pay gas for funding and agent top-ups. */
export async function fundOperator(rpcUrl: string, operator: Address, minimum = parseEther('100')) {
  const { publicClient, wallet } = await clients(rpcUrl);
  const balance = await publicClient.getBalance({ address: operator });
  if (balance >= minimum) return;
  const hash = await wallet.sendTransaction({ to: operator, value: minimum - balance + parseEther('10') });
  await publicClient.waitForTransactionReceipt({ hash });
}

/**
 * Reuses the recorded deployment when its contracts are still on the chain (state kept in
 * .data/ beside the database), otherwise deploys afresh and records it.
 */
export async function ensureLocalDeployment(rpcUrl: string, file: string, mintSigner: Address, usdc?: Address) {
  const recorded = readDeployment(file);
  // Demo tokens priced in another USDC than the configured one would be refused at funding.
  const existing = recorded && (!usdc || recorded.usdc.toLowerCase() === usdc.toLowerCase()) ? recorded : undefined;
  if (existing) {
    const { publicClient, wallet } = await clients(rpcUrl);
    const code = await publicClient.getCode({ address: existing.usdc });
    if (code && code !== '0x') {
      // A deployment recorded before the batch executor existed, or with an older build of it
      // (its code hash differs from this checkout's), gets the current one; agents re-delegate
      // to it with their next batch.
      const executorCode = existing.batchExecutor && (await publicClient.getCode({ address: existing.batchExecutor }));
      if (executorCode && executorCode !== '0x' && keccak256(executorCode) === agentBatchExecutorRuntime.codeHash)
        return { deployment: existing, fresh: false };
      const deployment = {
        ...existing,
        batchExecutor: await deployBatchExecutor(wallet, publicClient),
      };
      writeDeployment(file, deployment);
      return { deployment, fresh: false };
    }
  }
  const deployment = await deployLocalContracts(rpcUrl, mintSigner, usdc);
  writeDeployment(file, deployment);
  return { deployment, fresh: true };
}
