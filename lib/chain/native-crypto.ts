import { createRequire } from 'node:module';
import {
  bytesToHex,
  hashMessage,
  hashTypedData,
  hexToBytes,
  serializeTransaction,
  type AuthorizationRequest,
  type Hex,
  type SignableMessage,
  type TypedDataDefinition,
} from 'viem';
import { privateKeyToAccount, publicKeyToAddress, type PrivateKeyAccount } from 'viem/accounts';
import { createKeccak } from 'hash-wasm';
import { hashAuthorization } from 'viem/utils';
import type { SigningBackend } from './mint-signature';

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

/** keccak256 of hex data, exactly viem's `keccak256(hex)`. */
export function keccak(data: Hex): Hex {
  return `0x${hasher
    .init()
    .update(Buffer.from(data.slice(2), 'hex'))
    .digest('hex')}`;
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
    // viem's serializer: a hand-built EIP-1559 RLP was ~2x faster per transaction, but within the
    // noise of bench:mint for both ways of executing (A/B, issue #16; bench/README.md).
    async signTransaction(transaction, { serializer = serializeTransaction } = {}) {
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

/** Both, in the shape the mint authorizer takes. */
export const nativeBackend: SigningBackend = { toAccount: nativeAccount, keccak256: keccak };
