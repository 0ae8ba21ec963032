import { encodeAbiParameters, keccak256, type Hex } from 'viem';

/**
 * mintId = keccak256(abi.encode(bytes16 taskId, uint256 sequenceNumber)): the same mint of the
 * same task always has the same id, so a resent or replayed mint can never mint twice.
 */
export function mintIdOf(taskId: string, sequenceNumber: number): Hex {
  const uuid = taskId.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(uuid)) throw new Error(`not a UUID: ${taskId}`);
  return keccak256(
    encodeAbiParameters([{ type: 'bytes16' }, { type: 'uint256' }], [`0x${uuid.toLowerCase()}`, BigInt(sequenceNumber)]),
  );
}
