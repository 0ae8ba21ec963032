import { DEFAULT_ASSETS } from '@x402/evm';
import { EVM_NETWORK_CHAIN_ID_MAP } from '@x402/evm/v1';
import { getAddress, type Address, type Chain } from 'viem';
import * as viemChains from 'viem/chains';
import { localChain } from './chains';

// The networks CHAIN may name, derived from the installed packages rather than copied: every
// EVM network the x402 packages list a default EIP-3009 USDC for (`DEFAULT_ASSETS`), plus
// Circle's USDC on the networks they name or take by CAIP-2 without listing one (below). Chain
// id, display name, explorer and default public RPC come from viem/chains. Only the address is
// taken from here: the EIP-712 domain is read from the chain at start (lib/chain/usdc.ts).

export type Network = {
  /** What CHAIN calls it: the x402 v1 name where the official table has one, else viem's export in kebab-case. */
  name: string;
  /** viem's definition (formatters included); its default RPC is the public one RPC_URL overrides. */
  chain: Chain;
  usdc: Address;
  /** How x402 names it: CAIP-2 for v2, and the v1 name where the official table has one (v1 endpoints can't pay elsewhere). */
  x402: { network: `eip155:${number}`; v1Name?: string };
};

// Circle's USDC (FiatToken v2.2: EIP-3009) where the x402 packages list no default asset:
// networks in their v1 table (sepolia, avalanche-fuji, polygon-amoy) and OP, which x402 v2 takes
// by CAIP-2. From developers.circle.com/stablecoins/usdc-contract-addresses.
const CIRCLE_USDC: Record<number, Address> = {
  11155111: '0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238',
  43113: '0x5425890298aed601595a70AB815c96711a31Bc65',
  80002: '0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582',
  10: '0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85',
  11155420: '0x5fd84259d66Cd46123540766Be93DFE6D43130D7',
};

/** The package's default USDC per chain id: EIP-3009 ones only (permit2 assets are another scheme), USDC only. */
function packageUsdc(): Map<number, Address> {
  const found = new Map<number, Address>();
  for (const [caip, assets] of Object.entries(DEFAULT_ASSETS)) {
    const id = Number(caip.match(/^eip155:(\d+)$/)?.[1]);
    const usdc = assets.find(
      (a) => !('assetTransferMethod' in a && a.assetTransferMethod) && a.symbol.startsWith('USDC') && a.decimals === 6,
    );
    if (id && usdc) found.set(id, getAddress(usdc.asset));
  }
  return found;
}

// A chain id can have several viem exports (`base`, `basePreconf`): the shortest name is the chain itself.
function viemChainById(): Map<number, { key: string; chain: Chain }> {
  const byId = new Map<number, { key: string; chain: Chain }>();
  for (const [key, value] of Object.entries(viemChains)) {
    const chain = value as Chain;
    if (typeof chain?.id !== 'number') continue;
    const seen = byId.get(chain.id);
    if (!seen || key.length < seen.key.length) byId.set(chain.id, { key, chain });
  }
  return byId;
}

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** x402 v1 network names by chain id: the official table (@x402/evm/v1), which v1 endpoints and buyers share. */
export const X402_V1_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(EVM_NETWORK_CHAIN_ID_MAP).map(([name, id]) => [id as number, name]),
);

function buildNetworks(): Map<string, Network> {
  const v1Names = X402_V1_NAMES;
  const chains = viemChainById();
  const usdcById = new Map([
    ...Object.entries(CIRCLE_USDC).map(([id, a]) => [Number(id), a] as const),
    ...packageUsdc(),
  ]);
  const networks: Network[] = [];
  for (const [id, usdc] of usdcById) {
    const viem = chains.get(id);
    if (!viem) continue; // no chain definition, so no RPC or explorer to offer
    const v1Name = v1Names.get(id);
    networks.push({
      name: v1Name ?? kebab(viem.key),
      chain: viem.chain,
      usdc,
      x402: { network: `eip155:${id}`, ...(v1Name && { v1Name }) },
    });
  }
  networks.sort((a, b) => a.name.localeCompare(b.name));
  return new Map(networks.map((n) => [n.name, n]));
}

/** Every network CHAIN may name (besides `local`), by name. */
export const NETWORKS: ReadonlyMap<string, Network> = buildNetworks();

export const NETWORK_NAMES = [...NETWORKS.keys()];

export function networkByName(name: string): Network {
  const network = NETWORKS.get(name);
  if (!network) throw new Error(`Unknown network ${name}: one of local, ${NETWORK_NAMES.join(', ')}`);
  return network;
}

/** How x402 names a chain id (CAIP-2, and the official v1 name when there is one), whatever CHAIN is. */
export function x402NetworkOf(chainId: number): Network['x402'] {
  const v1Name = X402_V1_NAMES.get(chainId);
  return { network: `eip155:${chainId}`, ...(v1Name && { v1Name }) };
}

/** The viem chain CHAIN names (`local` = AgentMint's anvil). */
export function chainOf(name: string): Chain {
  return name === 'local' ? localChain : networkByName(name).chain;
}

/**
 * The RPC the browser may be told of: the local anvil, or the network's public one, never
 * RPC_URL off local (a hosted RPC URL may carry an API key).
 */
export function browserRpcUrl(config: { chain: string; rpcUrl: string }): string {
  return config.chain === 'local' ? config.rpcUrl : networkByName(config.chain).chain.rpcUrls.default.http[0]!;
}
