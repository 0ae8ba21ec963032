import { keccak256, type Hex } from 'viem';

/** keccak256 with a hex result, of hex or of bytes: viem's, or the worker's faster one (native-crypto.ts). */
export type Keccak256 = (data: Hex | Uint8Array) => Hex;

/**
 * mintId = keccak256(abi.encode(bytes16 taskId, uint256 sequenceNumber)): the same mint of the
 * same task always has the same id, so a resent or replayed mint can never mint twice.
 */
export function mintIdOf(taskId: string, sequenceNumber: number, hash: Keccak256 = keccak256): Hex {
  const uuid = taskId.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(uuid)) throw new Error(`not a UUID: ${taskId}`);
  if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0)
    throw new Error(`not a sequence number: ${sequenceNumber}`);
  // abi.encode: bytes16 left-aligned in its 32-byte word, then the uint256 word (a safe integer
  // fits its last 8 bytes), written as bytes: the padded hex string cost ~0.6 KB more a mint.
  const encoded = Buffer.alloc(64);
  encoded.write(uuid, 0, 'hex');
  encoded.writeUInt32BE(Math.floor(sequenceNumber / 2 ** 32), 56);
  encoded.writeUInt32BE(sequenceNumber % 2 ** 32, 60);
  return hash(encoded);
}
