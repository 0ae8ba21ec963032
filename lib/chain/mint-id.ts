import { keccak256, type Hex } from 'viem';

/**
 * mintId = keccak256(abi.encode(bytes16 taskId, uint256 sequenceNumber)): the same mint of the
 * same task always has the same id, so a resent or replayed mint can never mint twice.
 */
export function mintIdOf(taskId: string, sequenceNumber: number, hash: (data: Hex) => Hex = keccak256): Hex {
  const uuid = taskId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(uuid)) throw new Error(`not a UUID: ${taskId}`);
  if (!Number.isSafeInteger(sequenceNumber) || sequenceNumber < 0)
    throw new Error(`not a sequence number: ${sequenceNumber}`);
  // abi.encode: bytes16 left-aligned in its 32-byte word, then the uint256 word.
  return hash(`0x${uuid.toLowerCase()}${'0'.repeat(32)}${sequenceNumber.toString(16).padStart(64, '0')}`);
}
