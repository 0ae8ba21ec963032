import { createPublicClient, createWalletClient, http, type Address, type Chain, type PublicClient } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { getConfig } from '../config';
import { getKeys } from '../key-file';
import { chainWithRpc, toBrowserChain, type BrowserChain } from './chains';
import { readDeployment, type DemoToken } from './deployment';
import { browserRpcUrl, chainOf, networkByName } from './networks';

type Holder = { chain?: Chain; publicClient?: PublicClient; contracts?: KnownContracts };
const holder = ((globalThis as Record<string, unknown>).__agentMintChain ??= {}) as Holder;

export function getChain(): Chain {
  const config = getConfig();
  holder.chain ??= chainWithRpc(chainOf(config.chain), config.rpcUrl);
  return holder.chain;
}

/** The chain as the page gets it (app/layout.tsx): plain data, with an RPC it may be told. */
export function browserChain(): BrowserChain {
  return toBrowserChain(getChain(), browserRpcUrl(getConfig()));
}

export function getPublicClient(): PublicClient {
  holder.publicClient ??= createPublicClient({
    chain: getChain(),
    transport: http(getConfig().rpcUrl, { retryCount: 2, timeout: 15_000 }),
    // Anvil mines at once; a short poll keeps receipts fast locally and is harmless on Base (2 s blocks).
    pollingInterval: getConfig().chain === 'local' ? 100 : 1000,
  }) as PublicClient;
  return holder.publicClient;
}

type ToAccount = (privateKey: `0x${string}`) => PrivateKeyAccount;
const operatorAccounts = new Map<ToAccount, { key: string; account: PrivateKeyAccount }>();

/**
 * The operator's account, derived once per key and signing backend (viem derives the public key
 * in JS: ~1.5 ms a call, once per sweep and top-up; the worker signs with libsecp256k1 through
 * native-crypto.ts's `nativeAccount`). A key file reload that rotates the key derives it again.
 */
export function getOperatorAccount(toAccount: ToAccount = privateKeyToAccount): PrivateKeyAccount {
  const key = getKeys().operatorPrivateKey;
  let held = operatorAccounts.get(toAccount);
  if (held?.key !== key) operatorAccounts.set(toAccount, (held = { key, account: toAccount(key as `0x${string}`) }));
  return held.account;
}

/** Accounts whose mint signatures AgentMint can produce: the operator plus any listed signers. */
export function getMintSignerAccounts(toAccount: ToAccount = privateKeyToAccount): PrivateKeyAccount[] {
  const keys = getKeys();
  return [keys.operatorPrivateKey, ...keys.mintSignerKeys].map((k) => toAccount(k as `0x${string}`));
}

export function getOperatorWalletClient() {
  return createWalletClient({
    account: getOperatorAccount(),
    chain: getChain(),
    transport: http(getConfig().rpcUrl, { retryCount: 0, timeout: 15_000 }),
  });
}

export type KnownContracts = { usdc: Address; tokens: DemoToken[]; batchExecutor?: Address };

/** USDC and the demo tokens: from USDC_ADDRESS, the deployment file, or the network's USDC (lib/chain/networks.ts). */
export function getKnownContracts(): KnownContracts {
  holder.contracts ??= loadKnownContracts();
  return holder.contracts;
}

/** The demo tokens the chat names, or none where the contracts are not known (no USDC configured). */
export function getDemoTokens(): DemoToken[] {
  try {
    return getKnownContracts().tokens;
  } catch {
    return [];
  }
}

function loadKnownContracts(): KnownContracts {
  const config = getConfig();
  const deployment = readDeployment(config.deploymentFile);
  const usdc =
    config.usdcAddress ?? deployment?.usdc ?? (config.chain === 'local' ? undefined : networkByName(config.chain).usdc);
  if (!usdc) {
    throw new Error(`No USDC address: set USDC_ADDRESS or run npm start (deployment file ${config.deploymentFile})`);
  }
  return {
    usdc,
    tokens: deployment?.tokens ?? [],
    batchExecutor: config.batchExecutorAddress ?? deployment?.batchExecutor,
  };
}
