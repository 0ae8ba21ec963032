import {
  BaseError,
  hexToBigInt,
  isAddressEqual,
  parseEventLogs,
  recoverTypedDataAddress,
  size,
  sliceHex,
  type Address,
  type Hex,
} from 'viem';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { getChain, getKnownContracts, getPublicClient } from './clients';
import { testUSDCAbi } from './contracts.generated';
import type { UsdcDomain } from './usdc';

/** EIP-3009's TransferWithAuthorization as EIP-712 types (what the owner signs to fund a task). */
export const TRANSFER_WITH_AUTHORIZATION_TYPES = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** An EIP-3009 TransferWithAuthorization message with its uint256 fields as bigint. */
export type Authorization = {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
};

/** How an authorization is stored (jsonb) and compared: decimal strings, lower-case hex. */
export function authorizationToJson(a: Authorization) {
  return {
    from: a.from.toLowerCase(),
    to: a.to.toLowerCase(),
    value: a.value.toString(),
    validAfter: a.validAfter.toString(),
    validBefore: a.validBefore.toString(),
    nonce: a.nonce.toLowerCase(),
  };
}

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * What may be logged about a chain error: viem's full messages carry the RPC URL (which may
 * hold an API key) and the request body (the user's signature), so only the short message.
 */
export function safeChainCause(error: unknown): Error {
  if (error instanceof BaseError) return new Error(`${error.name}: ${error.shortMessage}`);
  return new Error(error instanceof Error ? error.name : 'unknown chain error');
}

export const chainUnavailable = (cause: unknown) =>
  new AppError('unavailable:chain', 'The chain is not reachable right now; nothing was sent. Try again shortly.', {
    cause: safeChainCause(cause),
  });

/** Runs a chain read; any failure is the chain's, never the client's, so it is a 503. */
export async function readChain<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw chainUnavailable(error);
  }
}

/**
 * A 65-byte ECDSA signature in the form USDC accepts: v 27/28 (0/1 from some hardware
 * wallets is the same signature and is normalised) and low-s (OpenZeppelin refuses high-s).
 */
export function normalizeEcdsaSignature(signature: Hex): Hex {
  if (size(signature) !== 65) {
    throw new AppError('bad_request:fund', `signature must be 65 bytes (130 hex digits); got ${size(signature)} bytes`);
  }
  const s = hexToBigInt(sliceHex(signature, 32, 64));
  if (s > SECP256K1_HALF_N)
    throw new AppError(
      'bad_request:fund',
      'signature has a high s value; sign again with a standard wallet (low-s, EIP-2)',
    );
  let v = Number.parseInt(signature.slice(130, 132), 16);
  if (v === 0 || v === 1) v += 27;
  if (v !== 27 && v !== 28)
    throw new AppError('bad_request:fund', `signature has an invalid recovery byte v=${v} (expected 27 or 28)`);
  return `${signature.slice(0, 130)}${v.toString(16)}` as Hex;
}

/**
 * Checks that `signature` is `from`'s over this chain's USDC domain. EOAs: ECDSA recovery
 * (65 bytes, low-s). Contract wallets: ERC-1271 through the chain, any signature length.
 * Returns the signature to submit.
 */
export async function verifyAuthorizationSignature({
  authorization,
  signature,
  domain,
}: {
  authorization: Authorization;
  signature: Hex;
  domain: UsdcDomain;
}): Promise<Hex> {
  const typed = {
    domain,
    types: TRANSFER_WITH_AUTHORIZATION_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: authorization,
  } as const;
  const code = await readChain(() => getPublicClient().getCode({ address: authorization.from }));
  if (code && code !== '0x') {
    const ok = await readChain(() =>
      getPublicClient().verifyTypedData({ ...typed, address: authorization.from, signature }),
    );
    if (!ok) throw wrongSigner(authorization.from, domain);
    return signature;
  }
  const normalized = normalizeEcdsaSignature(signature);
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typed, signature: normalized });
  } catch {
    throw new AppError('bad_request:fund', 'signature is not a valid secp256k1 signature');
  }
  if (!isAddressEqual(signer, authorization.from)) throw wrongSigner(authorization.from, domain);
  return normalized;
}

const wrongSigner = (from: Address, domain: UsdcDomain) =>
  new AppError(
    'bad_request:fund',
    `signature was not made by ${from} over this authorization on the USDC domain ` +
      `(name "${domain.name}", version "${domain.version}", chainId ${domain.chainId}, verifyingContract ${domain.verifyingContract})`,
  );

// Blocks per getLogs request: public Base RPCs accept 10,000.
const LOG_CHUNK = 10_000n;

/**
 * The transaction that used `from`'s authorization `nonce`, if it moved exactly `value` USDC
 * from `from` to `to` (someone else may have submitted the user's authorization first).
 * Searches back to roughly `since`; a local chain is searched from genesis.
 */
export async function findAuthorizationTransfer({
  authorization,
  since,
}: {
  authorization: Authorization;
  since: Date;
}): Promise<Hex | undefined> {
  const client = getPublicClient();
  const usdc = getKnownContracts().usdc;
  const event = testUSDCAbi.find((e) => e.type === 'event' && e.name === 'AuthorizationUsed');
  if (!event || event.type !== 'event') throw new Error('AuthorizationUsed missing from the USDC ABI');
  // Not the client's cached block number: the transfer may be in the block just mined.
  const latest = await client.getBlockNumber({ cacheTime: 0 });
  const blockMs = getChain().blockTime ?? 2000;
  const span =
    getConfig().chain === 'local' ? latest : BigInt(Math.ceil((Date.now() - since.getTime()) / blockMs)) * 2n + 1000n;
  const floor = latest > span ? latest - span : 0n;
  for (let toBlock = latest; toBlock >= floor; toBlock -= LOG_CHUNK) {
    const fromBlock = toBlock - floor >= LOG_CHUNK ? toBlock - LOG_CHUNK + 1n : floor;
    const logs = await client.getLogs({
      address: usdc,
      event,
      args: { authorizer: authorization.from, nonce: authorization.nonce },
      fromBlock,
      toBlock,
    });
    const hit = logs.find((l) => !l.removed);
    if (hit) return (await movedExactly(hit.transactionHash, authorization)) ? hit.transactionHash : undefined;
    if (fromBlock === 0n) break;
  }
  return undefined;
}

/** True when the successful transaction `hash` carries Transfer(from → to, value) on USDC. */
export async function movedExactly(hash: Hex, a: Authorization): Promise<boolean> {
  const receipt = await getPublicClient().getTransactionReceipt({ hash });
  if (receipt.status !== 'success') return false;
  const usdc = getKnownContracts().usdc;
  const transfers = parseEventLogs({
    abi: testUSDCAbi,
    eventName: 'Transfer',
    logs: receipt.logs.filter((l) => isAddressEqual(l.address, usdc)),
  });
  const used = parseEventLogs({
    abi: testUSDCAbi,
    eventName: 'AuthorizationUsed',
    logs: receipt.logs.filter((l) => isAddressEqual(l.address, usdc)),
  });
  const nonceUsed = used.some(
    (l) => isAddressEqual(l.args.authorizer, a.from) && l.args.nonce.toLowerCase() === a.nonce.toLowerCase(),
  );
  const moved = transfers.some(
    (l) => isAddressEqual(l.args.from, a.from) && isAddressEqual(l.args.to, a.to) && l.args.value === a.value,
  );
  return nonceUsed && moved;
}
