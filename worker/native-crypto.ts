import { createRequire } from 'node:module';
import { bytesToHex, hashMessage, hashTypedData, hexToBytes, serializeTransaction, type AuthorizationRequest, type Hex, type SerializeTransactionFn, type SignableMessage, type TransactionSerializable, type TypedDataDefinition } from 'viem';
import { privateKeyToAccount, publicKeyToAddress, type PrivateKeyAccount } from 'viem/accounts';
import { createKeccak } from 'hash-wasm';
import { hashAuthorization } from 'viem/utils';
import type { SigningBackend } from '@/lib/chain/mint-signature';

// The worker signs two secp256k1 signatures per mint (the mint authorization and the
// transaction). viem signs with noble (pure JS); libsecp256k1, through the `secp256k1` addon's
// prebuilt binary, does the same RFC 6979 signature ~25× faster on these machines, which is
// what lets a batch's signing hide behind the chain's own work (bench/mint.ts). Where the
// addon cannot load (a platform without a prebuild), this is viem's account unchanged.
// Hashing (five keccak256 per mint) goes through hash-wasm's WebAssembly keccak, ~14× faster
// than noble's JS here (5 µs against 73 µs for a signed mint transaction); the `keccak` addon
// was tried first and was no faster, its stream-based API costing what the C code saves.
// Only the worker uses this: the web app signs rarely and its bundler should not see an addon.

type Secp256k1 = {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
};

const native: Secp256k1 | undefined = (() => {
  try {
    // `secp256k1/bindings`, not `secp256k1`: the package's main entry silently falls back to
    // an older JS implementation (elliptic); we would rather fall back to viem's own.
    return createRequire(import.meta.url)('secp256k1/bindings') as Secp256k1;
  } catch {
    return undefined;
  }
})();

export const nativeSigning = native !== undefined;

// One hasher, reset per use: calls are synchronous, so they never interleave.
const hasher = await createKeccak(256);

/** keccak256 of hex data, exactly viem's `keccak256(hex)`. */
export function keccak(data: Hex): Hex {
  return `0x${hasher.init().update(Buffer.from(data.slice(2), 'hex')).digest('hex')}`;
}

/** `privateKeyToAccount`, signing with libsecp256k1 when available: byte-identical signatures. */
export function nativeAccount(privateKey: Hex): PrivateKeyAccount {
  if (!native) return privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey);
  const publicKey = bytesToHex(native.publicKeyCreate(key, false));
  const signHash = (hash: Hex): Hex => {
    const { signature, recid } = native.ecdsaSign(hexToBytes(hash), key);
    // r ‖ s ‖ v (27/28), as viem's `sign({ to: 'hex' })` returns it.
    return `${bytesToHex(signature)}${recid ? '1c' : '1b'}`;
  };
  const split = (signature: Hex) => {
    const yParity = signature.endsWith('1c') ? 1 : 0;
    return { r: `0x${signature.slice(2, 66)}` as Hex, s: `0x${signature.slice(66, 130)}` as Hex, v: yParity ? 28n : 27n, yParity };
  };
  return {
    address: publicKeyToAddress(publicKey),
    publicKey,
    source: 'privateKey',
    type: 'local',
    async sign({ hash }: { hash: Hex }) {
      return signHash(hash);
    },
    async signMessage({ message }: { message: SignableMessage }) {
      return signHash(hashMessage(message));
    },
    async signTypedData(typedData: TypedDataDefinition) {
      return signHash(hashTypedData(typedData));
    },
    async signTransaction(transaction, { serializer = serializeTransaction } = {}) {
      if (serializer === serializeTransaction && isPlainEip1559(transaction)) {
        return serializeEip1559(transaction, split(signHash(keccak(serializeEip1559(transaction)))));
      }
      // Blob transactions sign their payload without the sidecars, as in viem.
      const signable = transaction.type === 'eip4844' ? { ...transaction, sidecars: false } : transaction;
      return serializer(transaction, split(signHash(keccak(await serializer(signable)))));
    },
    async signAuthorization(request: AuthorizationRequest) {
      const address = request.contractAddress ?? request.address;
      const signature = split(signHash(hashAuthorization({ address, chainId: request.chainId, nonce: request.nonce })));
      return { address, chainId: request.chainId, nonce: request.nonce, ...signature };
    },
  } as PrivateKeyAccount;
}

/**
 * Where the worker signs with the hand-built RLP below rather than viem's serializer and sends
 * with a raw request rather than viem's sendRawTransaction. bench:mint --ab flips these in its
 * own process to measure one against the other in the same run (issue #16, item 7).
 */
export const handBuiltTxPath = { singleMints: true, batches: false };

/** viem's serializer under another identity: signTransaction then skips the hand-built RLP. */
export const viemSerializer: SerializeTransactionFn = (tx, signature) => serializeTransaction(tx, signature);

// The worker's own transactions (mints, approvals) are EIP-1559 without an access list. viem's
// serializer builds them through generic hex/bytes/RLP helpers and runs twice per signature
// (once to hash, once with the signature): ~0.3 ms per mint here. This writes the same RLP
// straight into a hex string; anything else goes to viem. The test checks the bytes agree.
type Eip1559 = Extract<TransactionSerializable, { type?: 'eip1559' }> & { chainId: number; to: Hex; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };

function isPlainEip1559(tx: TransactionSerializable): tx is Eip1559 {
  return (
    tx.type === 'eip1559' &&
    typeof tx.chainId === 'number' &&
    tx.chainId > 0 &&
    typeof tx.to === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(tx.to) &&
    typeof tx.maxFeePerGas === 'bigint' &&
    typeof tx.maxPriorityFeePerGas === 'bigint' &&
    tx.maxPriorityFeePerGas <= tx.maxFeePerGas &&
    tx.maxFeePerGas < 2n ** 256n &&
    (tx.data === undefined || /^0x([0-9a-fA-F]{2})*$/.test(tx.data)) &&
    (tx.accessList === undefined || tx.accessList.length === 0) &&
    !('authorizationList' in tx && tx.authorizationList) &&
    tx.r === undefined
  );
}

const byte = (n: number) => n.toString(16).padStart(2, '0');
const even = (hex: string) => (hex.length % 2 ? `0${hex}` : hex);
/** Minimal big-endian bytes of a non-negative integer (zero is the empty string), as hex. */
const uint = (n: number | bigint | undefined) => (n ? even(n.toString(16)) : '');
const prefix = (length: number, offset: number) => (length <= 55 ? byte(offset + length) : `${byte(offset + 55 + even(length.toString(16)).length / 2)}${even(length.toString(16))}`);
/** RLP of one byte string given as hex without 0x. */
const item = (hex: string) => (hex.length === 2 && hex < '80' ? hex : `${prefix(hex.length / 2, 0x80)}${hex}`);

function serializeEip1559(tx: Eip1559, signature?: { yParity: number; r: Hex; s: Hex }): Hex {
  const fields = [uint(tx.chainId), uint(tx.nonce), uint(tx.maxPriorityFeePerGas), uint(tx.maxFeePerGas), uint(tx.gas), tx.to.slice(2).toLowerCase(), uint(tx.value), (tx.data ?? '0x').slice(2).toLowerCase()];
  let payload = fields.map(item).join('') + 'c0'; // the empty access list
  if (signature) payload += item(uint(signature.yParity)) + item(signature.r.slice(2).replace(/^(00)+/, '')) + item(signature.s.slice(2).replace(/^(00)+/, ''));
  return `0x02${prefix(payload.length / 2, 0xc0)}${payload}`;
}

/** Both, in the shape the mint authorizer takes. */
export const nativeBackend: SigningBackend = { toAccount: nativeAccount, keccak256: keccak };
