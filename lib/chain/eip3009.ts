import {
  BaseError,
  getAbiItem,
  hexToBigInt,
  isAddressEqual,
  parseEventLogs,
  recoverTypedDataAddress,
  size,
  sliceHex,
  type Address,
  type Hex,
  type PublicClient,
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

/**
 * Whether `authorizer`'s EIP-3009 authorization `nonce` is used or cancelled (USDC's
 * `authorizationState`) as of a block: by number where a verdict reads everything at one block,
 * else the latest or the pending one.
 */
export function isAuthorizationUsedAt(
  client: PublicClient,
  usdc: Address,
  authorizer: Address,
  nonce: Hex,
  at: bigint | 'latest' | 'pending',
): Promise<boolean> {
  const read = {
    address: usdc,
    abi: testUSDCAbi,
    functionName: 'authorizationState',
    args: [authorizer, nonce],
  } as const;
  return typeof at === 'bigint'
    ? client.readContract({ ...read, blockNumber: at })
    : client.readContract({ ...read, blockTag: at });
}

// Blocks per getLogs request: public Base RPCs accept 10,000.
const LOG_CHUNK = 10_000n;

/** What the logs say became of an authorization whose nonce the chain shows used. */
export type AuthorizationOutcome =
  /** AuthorizationUsed by `txHash`, which moved exactly `value` from `from` to `to`. */
  | { kind: 'transferred'; txHash: Hex }
  /** AuthorizationUsed by `txHash`, which did not move exactly that. */
  | { kind: 'usedOtherwise'; txHash: Hex }
  /** AuthorizationCanceled by `txHash` (cancelAuthorization). */
  | { kind: 'cancelled'; txHash: Hex };

const usedEvent = getAbiItem({ abi: testUSDCAbi, name: 'AuthorizationUsed' });
const canceledEvent = getAbiItem({ abi: testUSDCAbi, name: 'AuthorizationCanceled' });

/**
 * The AuthorizationUsed or AuthorizationCanceled log of `from`'s authorization `nonce` up to
 * block `atBlock`, searched back to roughly `since` (a local chain from genesis). `atBlock` is
 * the block the caller read `authorizationState` at: a load-balanced RPC may answer the next
 * request from a node a block behind, or one that has not indexed that block's logs yet, and
 * "used, but no log" from two different blocks is no evidence of anything. Undefined when the
 * logs (or the transfer's receipt) up to `atBlock` are not there yet: look again later.
 */
export async function findAuthorizationOutcome({
  authorization,
  since,
  atBlock,
  client = getPublicClient(),
}: {
  authorization: Authorization;
  since: Date;
  atBlock: bigint;
  client?: PublicClient;
}): Promise<AuthorizationOutcome | undefined> {
  const address = getKnownContracts().usdc;
  const args = { authorizer: authorization.from, nonce: authorization.nonce };
  const blockMs = getChain().blockTime ?? 2000;
  const span =
    getConfig().chain === 'local' ? atBlock : BigInt(Math.ceil((Date.now() - since.getTime()) / blockMs)) * 2n + 1000n;
  const floor = atBlock > span ? atBlock - span : 0n;
  for (let toBlock = atBlock; toBlock >= floor; toBlock -= LOG_CHUNK) {
    const fromBlock = toBlock - floor >= LOG_CHUNK ? toBlock - LOG_CHUNK + 1n : floor;
    const [used, canceled] = await Promise.all([
      client.getLogs({ address, event: usedEvent, args, fromBlock, toBlock }),
      client.getLogs({ address, event: canceledEvent, args, fromBlock, toBlock }),
    ]);
    const cancel = canceled.find((l) => !l.removed);
    if (cancel) return { kind: 'cancelled', txHash: cancel.transactionHash };
    const use = used.find((l) => !l.removed);
    if (use) {
      // The log without its receipt (a node still storing the block): not known yet.
      const moved = await movedExactly(use.transactionHash, authorization, client).catch(() => undefined);
      if (moved === undefined) return undefined;
      return { kind: moved ? 'transferred' : 'usedOtherwise', txHash: use.transactionHash };
    }
    if (fromBlock === 0n) break;
  }
  return undefined;
}

/** True when the successful transaction `hash` carries Transfer(from → to, value) on USDC. */
export async function movedExactly(hash: Hex, a: Authorization, client = getPublicClient()): Promise<boolean> {
  const receipt = await client.getTransactionReceipt({ hash });
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
