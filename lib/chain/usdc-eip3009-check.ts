import { BaseError, domainSeparator, zeroHash, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getChain, getKnownContracts, getPublicClient } from './clients';
import { testUSDCAbi } from './contracts.generated';
import { TRANSFER_WITH_AUTHORIZATION_TYPES } from './eip3009';
import type { UsdcDomain } from './usdc';

// The startup check's chain part (lib/startup-check.ts): the configured USDC must be an EIP-3009
// token whose domain, read from the chain, is the one funding signatures are made over.

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
