import { getAddress, isAddress, type Address } from 'viem';
import { deleteKnownToken, getKnownToken, listKnownTokens, recordKnownTokens } from '@/db/known-tokens';
import type { KnownToken } from '@/db/schema';
import { getChain, getKnownContracts, getMintSignerAccounts, getPublicClient } from '../chain/clients';
import { isPaidMintTokenCode } from '../chain/token-code';
import { readPaidMintToken } from '../chain/tokens';
import { AppError } from '../errors';

// The contract route mints only tokens AgentMint knows: ones it deployed (recorded by
// `deploy:token` and the local stack) and ones the operator listed after `listToken` checked
// that the contract is PaidMintToken, paid in our USDC, signed by a key we hold. A stranger's
// contract that merely answers `mintSigner()` with the operator's address (and whose `mint`
// burns gas the operator pays) is refused before a task exists.

/** True when this chain's known_tokens lists `address`. */
export async function isKnownToken(address: string): Promise<boolean> {
  return (await getKnownToken({ chainId: getChain().id, address })) !== undefined;
}

const refuse = (message: string) => new AppError('bad_request:token', message);

/**
 * Lists a token for minting after checking, on chain: its runtime code is PaidMintToken's (as
 * this version compiles it; immutables masked), it is paid in our USDC, and its mint signer is
 * a key this install holds. Idempotent.
 */
export async function listToken(tokenAddress: string): Promise<KnownToken> {
  if (!isAddress(tokenAddress, { strict: false })) throw refuse(`not an address: ${tokenAddress}`);
  const address = getAddress(tokenAddress);
  const code = await getPublicClient().getCode({ address });
  if (!isPaidMintTokenCode(code)) {
    throw refuse(
      `${address} is not a PaidMintToken: its code does not match the contract AgentMint compiles (contracts/PaidMintToken.sol).`,
    );
  }
  const info = await readPaidMintToken(address);
  const usdc = getKnownContracts().usdc;
  if (info.paymentToken.toLowerCase() !== usdc.toLowerCase())
    throw refuse(`${address} is paid in ${info.paymentToken}, not in this service's USDC ${getAddress(usdc)}.`);
  const signers = getMintSignerAccounts().map((a) => a.address.toLowerCase());
  if (!signers.includes(info.mintSigner.toLowerCase()))
    throw refuse(`${address}'s mint signer ${info.mintSigner} is not a key in the key file.`);
  const chainId = getChain().id;
  await recordKnownTokens({ chainId, source: 'listed', tokens: [{ address, name: info.name, symbol: info.symbol }] });
  return (await getKnownToken({ chainId, address }))!;
}

export async function unlistToken(tokenAddress: string): Promise<boolean> {
  if (!isAddress(tokenAddress, { strict: false })) throw refuse(`not an address: ${tokenAddress}`);
  return deleteKnownToken({ chainId: getChain().id, address: tokenAddress });
}

export async function listTokens(): Promise<(KnownToken & { address: Address })[]> {
  return (await listKnownTokens({ chainId: getChain().id })).map((t) => ({ ...t, address: getAddress(t.address) }));
}
