import { erc20Abi, parseAbi, type Address, type PublicClient } from 'viem';
import { getPublicClient } from '../chain/clients';

// What the probe reads from the chain: the asset's EIP-712 domain when a 402 omits it, and
// whether an address is an ERC20 token (the seed's endpoints name the token as payTo).

const eip5267Abi = parseAbi([
  'function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)',
]);
const nameVersionAbi = parseAbi(['function name() view returns (string)', 'function version() view returns (string)']);

export type Eip712NameVersion = { name: string; version: string };

/** The asset's EIP-712 name and version: EIP-5267 `eip712Domain()` where it exists, else `name()` and `version()`. */
export async function readAssetDomain(
  asset: Address,
  client: PublicClient = getPublicClient(),
): Promise<Eip712NameVersion | undefined> {
  try {
    const [, name, version] = await client.readContract({
      address: asset,
      abi: eip5267Abi,
      functionName: 'eip712Domain',
    });
    if (name && version) return { name, version };
  } catch {
    // Circle's USDC (FiatTokenV2_2) predates EIP-5267: fall through to name()/version().
  }
  try {
    const [name, version] = await Promise.all([
      client.readContract({ address: asset, abi: nameVersionAbi, functionName: 'name' }),
      client.readContract({ address: asset, abi: nameVersionAbi, functionName: 'version' }),
    ]);
    return name && version ? { name, version } : undefined;
  } catch {
    return undefined;
  }
}

export type Erc20Info = { address: Address; name: string; symbol: string; decimals: number };

/** The token's ERC20 views, or undefined when the address has no code or lacks them. */
export async function readErc20(
  address: Address,
  client: PublicClient = getPublicClient(),
): Promise<Erc20Info | undefined> {
  const code = await client.getCode({ address });
  if (!code || code === '0x') return undefined;
  try {
    const [name, symbol, decimals] = await Promise.all([
      client.readContract({ address, abi: erc20Abi, functionName: 'name' }),
      client.readContract({ address, abi: erc20Abi, functionName: 'symbol' }),
      client.readContract({ address, abi: erc20Abi, functionName: 'decimals' }),
      client.readContract({ address, abi: erc20Abi, functionName: 'totalSupply' }),
    ]);
    return { address, name, symbol, decimals };
  } catch {
    return undefined;
  }
}
