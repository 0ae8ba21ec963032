import { BaseError, domainSeparator, zeroHash, type Address, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getChain, getKnownContracts, getPublicClient } from './clients';
import { testUSDCAbi } from './contracts.generated';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from './eip3009';

export type UsdcDomain = { name: string; version: string; chainId: number; verifyingContract: Address };

let cached: Promise<UsdcDomain> | undefined;

/**
 * USDC's EIP-712 domain as the chain says it (Base Sepolia's USDC is named "USDC", Base's
 * "USD Coin"); only the contract address comes from configuration.
 */
export function getUsdcDomain(): Promise<UsdcDomain> {
  cached ??= readDomain().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function readDomain(): Promise<UsdcDomain> {
  const address = getKnownContracts().usdc;
  const client = getPublicClient();
  const [name, version, chainId] = await Promise.all([
    client.readContract({ address, abi: testUSDCAbi, functionName: 'name' }),
    client.readContract({ address, abi: testUSDCAbi, functionName: 'version' }),
    client.getChainId(),
  ]);
  if (chainId !== getChain().id) throw new Error(`RPC chain id ${chainId} is not the configured ${getChain().id}`);
  return { name, version, chainId, verifyingContract: address };
}

/** The configured USDC cannot be used: what is wrong, in words an operator can act on. */
export class UnusableUsdcError extends Error {
  override name = 'UnusableUsdcError';
}

/**
 * Proves the configured USDC is what funding signs for, before anything is signed: a contract,
 * on the configured chain id, whose `DOMAIN_SEPARATOR()` is the domain its `name()` and
 * `version()` describe, and which runs EIP-3009 `transferWithAuthorization` (the overload the
 * fund route sends) for a signature over that domain: a zero-value authorization from a
 * throwaway key, simulated with eth_call, so nothing is sent. Throws UnusableUsdcError for a
 * USDC that fails, and the RPC's own error when the chain cannot be asked.
 */
export async function verifyUsdc(client: PublicClient = getPublicClient()): Promise<UsdcDomain> {
  const address = getKnownContracts().usdc;
  const chain = getChain();
  const where = `USDC ${address} on chain ${chain.id} (${chain.name})`;
  const rpcChainId = await client.getChainId();
  if (rpcChainId !== chain.id) {
    throw new UnusableUsdcError(
      `RPC_URL serves chain id ${rpcChainId}, not ${chain.id} (${chain.name}): point RPC_URL at that network, or set CHAIN to the one it serves`,
    );
  }
  const code = await client.getCode({ address });
  if (!code || code === '0x') throw new UnusableUsdcError(`${where}: no contract at that address (USDC_ADDRESS?)`);
  const read = <T>(functionName: 'name' | 'version' | 'DOMAIN_SEPARATOR') =>
    client.readContract({ address, abi: testUSDCAbi, functionName }).then(
      (value) => value as T,
      () => undefined,
    );
  const [name, version, separator] = await Promise.all([
    read<string>('name'),
    read<string>('version'),
    read<`0x${string}`>('DOMAIN_SEPARATOR'),
  ]);
  if (!name || !version || !separator) {
    const missing = [!name && 'name()', !version && 'version()', !separator && 'DOMAIN_SEPARATOR()'].filter(Boolean);
    throw new UnusableUsdcError(
      `${where} does not implement EIP-3009 as Circle's USDC does: it has no ${missing.join(', ')} (an EIP-3009 token such as FiatToken v2 is required)`,
    );
  }
  const domain = { name, version, chainId: chain.id, verifyingContract: address };
  if (domainSeparator({ domain }) !== separator) {
    throw new UnusableUsdcError(
      `${where}: its DOMAIN_SEPARATOR() is not the EIP-712 domain of its name() "${name}" and version() "${version}", so no signature over that domain would verify`,
    );
  }
  await simulateTransferWithAuthorization(client, domain, where);
  return domain;
}

async function simulateTransferWithAuthorization(client: PublicClient, domain: UsdcDomain, where: string) {
  const signer = privateKeyToAccount(generatePrivateKey());
  const message = {
    from: signer.address,
    to: signer.address,
    value: 0n,
    validAfter: 0n,
    validBefore: 2n ** 64n,
    nonce: zeroHash,
  };
  const signature = await signer.signTypedData({
    domain,
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message,
  });
  try {
    await client.simulateContract({
      address: domain.verifyingContract,
      abi: testUSDCAbi,
      functionName: 'transferWithAuthorization',
      args: [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        signature,
      ],
    });
  } catch (error) {
    const reason = error instanceof BaseError ? error.shortMessage : String(error);
    throw new UnusableUsdcError(
      `${where} does not accept an EIP-3009 transferWithAuthorization(from, to, value, validAfter, validBefore, nonce, bytes signature) signed over its own domain (a zero-value one reverted: ${reason}); funding would fail`,
    );
  }
}

export async function getUsdcBalance(account: Address): Promise<bigint> {
  return getPublicClient().readContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [account],
  });
}
