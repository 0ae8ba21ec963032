import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from 'viem';
import { vi } from 'vitest';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { deployTestUsdc } from '@/lib/chain/deploy';
import type { Network } from '@/lib/chain/networks';
import { anvilAccount, startAnvil, type Anvil } from '@/scripts/local/anvil';
import { freePort } from '@/scripts/local/ports';

const solc = createRequire(import.meta.url)('solc') as { compile(input: string): string };

const testChain = (id: number, rpcUrl: string) =>
  defineChain({
    id,
    name: `anvil ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });

/** Mints USDC to `to` as its owner (anvil account 0), and waits for the block. */
export async function giveUsdc(rpcUrl: string, usdc: Address, to: Address, amount: bigint) {
  const client = createPublicClient({ transport: http(rpcUrl), pollingInterval: 20 });
  const chain = testChain(await client.getChainId(), rpcUrl);
  const wallet = createWalletClient({ account: anvilAccount(0), chain, transport: http(rpcUrl) });
  const hash = await wallet.writeContract({
    address: usdc,
    abi: testUSDCAbi,
    functionName: 'mint',
    args: [to, amount],
  });
  await client.waitForTransactionReceipt({ hash });
}

/** Anvil under `network`'s chain id, with USDC's code and state at the network's real USDC address. */
export async function startNetworkAnvil(network: Network): Promise<{ anvil: Anvil; usdc: Address }> {
  const anvil = await startAnvil({ port: await freePort(), chainId: network.chain.id });
  try {
    await placeUsdcAt(anvil.url, network.chain.id, network.usdc);
    return { anvil, usdc: network.usdc };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

/**
 * TestUSDC (EIP-3009 as Circle's FiatToken) deployed, then its code and storage copied to
 * `address` (anvil_setCode / anvil_setStorageAt), so the app finds USDC where the network
 * table says it is: name, symbol and owner (anvil account 0) live in the first slots, and
 * DOMAIN_SEPARATOR() is computed from address(this) and the chain id on every call.
 */
async function placeUsdcAt(rpcUrl: string, chainId: number, address: Address) {
  const chain = testChain(chainId, rpcUrl);
  const client = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 20 });
  const wallet = createWalletClient({ account: anvilAccount(0), chain, transport: http(rpcUrl) });
  const deployed = await deployTestUsdc(wallet, client as never);
  const code = await client.getCode({ address: deployed });
  await client.request({ method: 'anvil_setCode' as never, params: [address, code] as never });
  for (let i = 0; i < 16; i++) {
    const slot = toHex(i, { size: 32 });
    const value = (await client.getStorageAt({ address: deployed, slot })) as Hex;
    if (BigInt(value) !== 0n)
      await client.request({ method: 'anvil_setStorageAt' as never, params: [address, slot, value] as never });
  }
}

/**
 * Points this process's app modules at another chain: the environment a process started with
 * CHAIN=<name> would have, then fresh copies of every module that cached the old one (config,
 * chain clients, USDC domain, worker RPC). The database pool and key file are kept: the same ones.
 */
export function useAppEnv(env: Record<string, string | undefined>) {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  delete (globalThis as Record<string, unknown>).__agentMintChain;
  vi.resetModules();
}

/** UsdcLookalike (this folder) compiled with solc-js and deployed: USDC's domain, no EIP-3009. */
export async function deployUsdcLookalike(rpcUrl: string): Promise<Address> {
  const source = readFileSync(path.join(import.meta.dirname, 'UsdcLookalike.sol'), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'UsdcLookalike.sol': { content: source } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const { abi, evm } = output.contracts['UsdcLookalike.sol']!.UsdcLookalike!;
  const client = createPublicClient({ transport: http(rpcUrl), pollingInterval: 20 });
  const chain = testChain(await client.getChainId(), rpcUrl);
  const wallet = createWalletClient({ account: anvilAccount(0), chain, transport: http(rpcUrl) });
  const hash = await wallet.deployContract({ abi, bytecode: `0x${evm.bytecode.object}` });
  const { contractAddress } = await client.waitForTransactionReceipt({ hash });
  return contractAddress!;
}
