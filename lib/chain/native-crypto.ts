import { createRequire } from 'node:module';
import {
  assertTransactionEIP1559,
  bytesToHex,
  hashMessage,
  hashTypedData,
  hexToBytes,
  serializeTransaction,
  type AuthorizationRequest,
  type Hex,
  type SignableMessage,
  type TransactionSerializable,
  type TypedDataDefinition,
} from 'viem';
import { privateKeyToAccount, publicKeyToAddress, type PrivateKeyAccount } from 'viem/accounts';
import { createKeccak } from 'hash-wasm';
import { hashAuthorization } from 'viem/utils';
import type { SigningBackend } from './mint-signature';
import { HEX_ADDRESS, HEX_BYTES } from '../hex';

// The worker signs two secp256k1 signatures per mint (the mint authorization and the
// transaction). viem signs with noble (pure JS); libsecp256k1, through the `secp256k1` addon's
// prebuilt binary, does the same RFC 6979 signature ~25× faster on these machines, which is
// what lets a batch's signing hide behind the chain's own work (bench/mint.ts). Where the
// addon cannot load (a platform without a prebuild), this is viem's account unchanged.
// Hashing (five keccak256 per mint) goes through hash-wasm's WebAssembly keccak, ~14× faster
// than noble's JS here (5 µs against 73 µs for a signed mint transaction); the `keccak` addon
// was tried first and was no faster, its stream-based API costing what the C code saves.
// Only the worker and the local x402 server use this: the web app signs rarely and its bundler
// should not see an addon (the import rule, .dependency-cruiser.cjs, keeps it out of app/).

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

/** keccak256 of bytes, as bytes. */
function keccakBytes(data: Uint8Array): Uint8Array {
  return hasher.init().update(data).digest('binary');
}

/** keccak256 of hex data or bytes, exactly viem's `keccak256`. */
export function keccak(data: Hex | Uint8Array): Hex {
  // Buffer's hex codec, not hash-wasm's hex digest (String.fromCharCode.apply over 64 char codes):
  // ~0.2 KB less garbage a hash, and the worker hashes ~800 times a 200-mint task.
  const hash = keccakBytes(typeof data === 'string' ? Buffer.from(data.slice(2), 'hex') : data);
  return `0x${Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex')}`;
}

/** `privateKeyToAccount`, signing with libsecp256k1 when available: byte-identical signatures. */
export function nativeAccount(privateKey: Hex): PrivateKeyAccount {
  if (!native) return privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey);
  const publicKey = bytesToHex(native.publicKeyCreate(key, false));
  // Buffer's hex codec, not viem's hexToBytes/bytesToHex: ~5 ms of a 200-mint task's CPU went to
  // viem's per-character parsing of the hashes and signatures here (bench:mint -- --profile).
  const signHash = (hash: Hex): Hex => {
    const { signature, recid } = native.ecdsaSign(Buffer.from(hash.slice(2), 'hex'), key);
    // r ‖ s ‖ v (27/28), as viem's `sign({ to: 'hex' })` returns it.
    return `0x${Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('hex')}${recid ? '1c' : '1b'}`;
  };
  const split = (signature: Hex) => {
    const yParity = signature.endsWith('1c') ? 1 : 0;
    return {
      r: `0x${signature.slice(2, 66)}` as Hex,
      s: `0x${signature.slice(66, 130)}` as Hex,
      v: yParity ? 28n : 27n,
      yParity,
    };
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
    // viem's serializer, run once: a typed transaction's signed form is its unsigned RLP list with
    // yParity, r and s appended (appendSignature), where viem would serialize it all again (the
    // calldata's RLP, a batch's 2 KB, was most of the cost of signing a batch transaction). The
    // unsigned bytes are hashed, signed and extended as bytes: hex only once, at the end.
    async signTransaction(transaction, { serializer = serializeTransaction } = {}) {
      if (serializer === serializeTransaction && appendsSignature(transaction)) {
        const unsigned =
          serializeEip1559Unsigned(transaction) ?? Buffer.from((await serializer(transaction)).slice(2), 'hex');
        const { signature, recid } = native.ecdsaSign(keccakBytes(unsigned), key);
        return appendSignature(unsigned, signature, recid);
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

/** Types whose signed form is `type ‖ rlp([...fields, yParity, r, s])` and its unsigned form the same without the three. */
const APPENDED_SIGNATURE_TYPES: ReadonlySet<unknown> = new Set(['eip1559', 'eip2930', 'eip7702']);

/** Whether viem's signed serialization of `tx` is its unsigned one with the signature appended (a tx carrying no signature of its own). */
function appendsSignature(tx: { type?: unknown; r?: unknown; s?: unknown; v?: unknown; yParity?: unknown }) {
  return (
    APPENDED_SIGNATURE_TYPES.has(tx.type) &&
    tx.r === undefined &&
    tx.s === undefined &&
    tx.v === undefined &&
    tx.yParity === undefined
  );
}

/** RLP of a byte string of any length. */
function rlpString(bytes: Buffer): Buffer {
  if (bytes.length < 56) return rlpShortString(bytes);
  const size = uintBytes(bytes.length);
  return Buffer.concat([Buffer.from([0xb7 + size.length]), size, bytes]);
}

/** A non-negative integer as minimal big-endian bytes (zero: none). */
function uintBytes(n: bigint | number): Buffer {
  if (n === 0 || n === 0n) return Buffer.alloc(0);
  const digits = n.toString(16);
  return Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
}

/**
 * An unsigned EIP-1559 transaction without an access list, `0x02 ‖ rlp([...])`, byte for byte
 * what viem's serializeTransaction writes (after viem's own checks of the fields), built in one
 * Buffer: viem's RLP turned the batch's 2 KB calldata into bytes and back into hex one byte at a
 * time, ~115 KB of garbage per batch transaction (bench:mint -- --heap-prof). Undefined for any
 * other transaction: viem serializes it.
 */
function serializeEip1559Unsigned(tx: TransactionSerializable): Buffer | undefined {
  if (tx.type !== 'eip1559' || !appendsSignature(tx) || (tx.accessList && tx.accessList.length > 0)) return undefined;
  const data = tx.data ?? '0x';
  if (!HEX_BYTES.test(data) || (tx.to && !HEX_ADDRESS.test(tx.to))) return undefined;
  assertTransactionEIP1559(tx);
  const fields = [
    uintBytes(tx.chainId),
    uintBytes(tx.nonce ?? 0),
    uintBytes(tx.maxPriorityFeePerGas ?? 0n),
    uintBytes(tx.maxFeePerGas ?? 0n),
    uintBytes(tx.gas ?? 0n),
    tx.to ? Buffer.from(tx.to.slice(2), 'hex') : Buffer.alloc(0),
    uintBytes(tx.value ?? 0n),
    Buffer.from(data.slice(2), 'hex'),
  ].map(rlpString);
  const empty = Buffer.from([0xc0]); // the access list
  const length = fields.reduce((sum, f) => sum + f.length, 0) + empty.length;
  return Buffer.concat([Buffer.from([0x02]), rlpListHeader(length), ...fields, empty]);
}

/** A big-endian scalar as RLP writes it: no leading zero bytes (zero is the empty string). */
function scalarBytes(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.length - start);
}

/** RLP of a byte string shorter than 56 bytes. */
function rlpShortString(bytes: Buffer): Buffer {
  if (bytes.length === 1 && bytes[0]! < 0x80) return bytes;
  return Buffer.concat([Buffer.from([0x80 + bytes.length]), bytes]);
}

/** An RLP list's header for a payload of `length` bytes. */
function rlpListHeader(length: number): Buffer {
  if (length < 56) return Buffer.from([0xc0 + length]);
  const digits = length.toString(16);
  const size = Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex');
  return Buffer.concat([Buffer.from([0xf7 + size.length]), size]);
}

/**
 * `type ‖ rlp([...fields])` signed with r ‖ s (64 bytes) and yParity: `type ‖ rlp([...fields,
 * yParity, r, s])`, byte for byte what viem's serializer writes for the same signature (its
 * toYParitySignatureArray; the test compares).
 */
function appendSignature(unsigned: Buffer, rs: Uint8Array, yParity: number): Hex {
  const head = unsigned[1]!;
  const start = head <= 0xf7 ? 2 : 2 + (head - 0xf7);
  const length = head <= 0xf7 ? head - 0xc0 : unsigned.readUIntBE(2, head - 0xf7);
  if (head < 0xc0 || start + length !== unsigned.length)
    throw new Error('not a typed transaction: type ‖ one RLP list');
  const signature = Buffer.concat([
    Buffer.from(yParity ? [0x01] : [0x80]),
    rlpShortString(scalarBytes(rs.subarray(0, 32))),
    rlpShortString(scalarBytes(rs.subarray(32, 64))),
  ]);
  const payload = unsigned.subarray(start);
  return `0x${Buffer.concat([unsigned.subarray(0, 1), rlpListHeader(payload.length + signature.length), payload, signature]).toString('hex')}`;
}

/** Both, in the shape the mint authorizer takes. */
export const nativeBackend: SigningBackend = { toAccount: nativeAccount, keccak256: keccak };
