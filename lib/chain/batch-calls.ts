import {
  concatHex,
  decodeAbiParameters,
  decodeFunctionData,
  getAbiItem,
  getAddress,
  isAddress,
  isAddressEqual,
  parseEventLogs,
  toFunctionSelector,
  type Address,
  type Hex,
  type Log,
} from 'viem';
import { agentBatchExecutorAbi } from './contracts.generated';
import { HEX_BYTES, HEX_WORD } from '../hex';

// How a batch looks on the wire: `execute(mode, abi.encode(Execution[]))` sent by the agent to
// its own address, which runs AgentBatchExecutor's code there (EIP-7702 delegation).

/** ERC-7579 mode: batch call type, revert-all (`0x00`) or try (`0x01`) exec type, no selector or payload. */
export const BATCH_MODE = {
  revertAll: `0x01${'00'.repeat(31)}`,
  try: `0x0101${'00'.repeat(30)}`,
} as const satisfies Record<string, Hex>;

export type BatchCall = { to: Address; value?: bigint; data: Hex };

const executionsType = [
  {
    type: 'tuple[]',
    components: [
      { name: 'target', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'callData', type: 'bytes' },
    ],
  },
] as const;

/** `execute(bytes32,bytes)`'s selector. */
const EXECUTE_SELECTOR = toFunctionSelector(getAbiItem({ abi: agentBatchExecutorAbi, name: 'execute' }));

// A batch is encoded and decoded once or twice per batch transaction (the worker builds it, the
// guard reads it back before signing). viem's ABI coder took ~0.25 ms each way for 10 calls,
// about a tenth of the worker's CPU per batch (bench:mint), so the canonical layout is written
// and read here directly: every word in the place the ABI's canonical encoding puts it, in one
// Buffer each way. Padded hex strings, joined or sliced word by word, allocated 33 KB to encode a
// 10-call batch and 25 KB to decode it; through a Buffer, 10 KB each, mostly the hex itself.
const MAX_UINT256 = (1n << 256n) - 1n;
const SELECTOR_BYTES = Buffer.from(EXECUTE_SELECTOR.slice(2), 'hex');

/** A non-negative safe integer as the ABI word at `at` (the buffer is zero-filled: only the low bytes are written). */
function writeNumber(out: Buffer, at: number, n: number) {
  out.writeUIntBE(n, at + 26, 6);
}

/** `execute(mode, abi.encode(Execution[]))` for these calls: byte for byte what viem's encodeFunctionData returns (tested). */
export function encodeBatchExecute(calls: BatchCall[], mode: Hex = BATCH_MODE.try): Hex {
  if (!HEX_WORD.test(mode)) throw new Error(`batch mode must be 32 bytes: ${mode}`);
  // Each tuple: target, value, the callData offset (0x60), its length, its bytes padded to words.
  let tuplesSize = 0;
  for (const c of calls) {
    if (!isAddress(c.to, { strict: false })) throw new Error(`not an address: ${c.to}`);
    if (!HEX_BYTES.test(c.data)) throw new Error('call data must be whole bytes of hex');
    const value = c.value ?? 0n;
    if (value < 0n || value > MAX_UINT256) throw new Error(`call value out of uint256 range: ${value}`);
    tuplesSize += 128 + Math.ceil((c.data.length - 2) / 64) * 32;
  }
  // selector, mode, the bytes' offset and length, then abi.encode(Execution[]): the array's
  // offset, its length, one offset per tuple (in bytes from the first), then the tuples.
  const executionsSize = 64 + 32 * calls.length + tuplesSize;
  const out = Buffer.alloc(4 + 96 + executionsSize);
  SELECTOR_BYTES.copy(out, 0);
  out.write(mode.slice(2), 4, 'hex');
  writeNumber(out, 36, 0x40);
  writeNumber(out, 68, executionsSize);
  writeNumber(out, 100, 0x20);
  writeNumber(out, 132, calls.length);
  const heads = 164;
  let tuple = heads + 32 * calls.length;
  for (const [i, c] of calls.entries()) {
    writeNumber(out, heads + 32 * i, tuple - heads);
    out.write(c.to.slice(2), tuple + 12, 'hex');
    if (c.value) out.write(c.value.toString(16).padStart(64, '0'), tuple + 32, 'hex');
    writeNumber(out, tuple + 64, 0x60);
    const length = (c.data.length - 2) / 2;
    writeNumber(out, tuple + 96, length);
    if (length) out.write(c.data.slice(2), tuple + 128, 'hex');
    tuple += 128 + Math.ceil(length / 32) * 32;
  }
  return `0x${out.toString('hex')}`;
}

/** The mode and the calls of an `execute` calldata; throws on anything else. */
export function decodeBatchExecute(data: Hex): { mode: Hex; calls: BatchCall[] } {
  return decodeCanonical(data) ?? decodeWithViem(data);
}

/**
 * The calls of a canonically encoded `execute` (what encodeBatchExecute writes), or undefined
 * for any other layout, which viem's decoder then reads as before: every offset, length and
 * padding is checked, so what this returns is what viem (and the executor's abi.decode) read.
 */
function decodeCanonical(data: Hex): { mode: Hex; calls: BatchCall[] } | undefined {
  if ((data.length - 10) % 64 !== 0 || data.slice(0, 10).toLowerCase() !== EXECUTE_SELECTOR) return undefined;
  const bytes = Buffer.from(data.slice(2), 'hex');
  if (bytes.length * 2 !== data.length - 2) return undefined; // a character that is not hex
  const zero = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
    return true;
  };
  // Word i of the arguments (from byte 4) as a number, or -1 if it does not fit in 6 bytes.
  const num = (i: number) => (zero(4 + i * 32, 30 + i * 32) ? bytes.readUIntBE(30 + i * 32, 6) : -1);
  const words = (bytes.length - 4) / 32;
  if (num(1) !== 0x40) return undefined;
  const bytesLength = num(2);
  if (bytesLength < 0 || bytesLength % 32 !== 0 || words !== 3 + bytesLength / 32) return undefined;
  const base = 3; // the Execution[] encoding starts at word 3
  if (num(base) !== 0x20) return undefined;
  const count = num(base + 1);
  if (count < 0 || count > 10_000) return undefined;
  const heads = base + 2; // offsets are in bytes from here
  const calls: BatchCall[] = [];
  let expected = 32 * count;
  for (let i = 0; i < count; i++) {
    const tuple = heads + expected / 32;
    if (tuple + 4 > words || num(heads + i) !== expected) return undefined;
    const at = 4 + tuple * 32; // the tuple's first byte
    if (!zero(at, at + 12) || num(tuple + 2) !== 0x60) return undefined;
    const length = num(tuple + 3);
    const padded = Math.ceil(length / 32) * 32;
    if (length < 0 || at + 128 + padded > bytes.length || !zero(at + 128 + length, at + 128 + padded)) return undefined;
    calls.push({
      to: getAddress(`0x${bytes.toString('hex', at + 12, at + 32)}`),
      value: zero(at + 32, at + 64) ? 0n : BigInt(`0x${bytes.toString('hex', at + 32, at + 64)}`),
      data: `0x${bytes.toString('hex', at + 128, at + 128 + length)}`,
    });
    expected += 128 + padded;
  }
  if (heads * 32 + expected !== words * 32) return undefined;
  return { mode: `0x${bytes.toString('hex', 4, 36)}`, calls };
}

function decodeWithViem(data: Hex): { mode: Hex; calls: BatchCall[] } {
  const { functionName, args } = decodeFunctionData({ abi: agentBatchExecutorAbi, data });
  if (functionName !== 'execute') throw new Error(`not an execute call: ${functionName}`);
  const [mode, executionData] = args as readonly [Hex, Hex];
  const [executions] = decodeAbiParameters(executionsType, executionData);
  return { mode, calls: executions.map((e) => ({ to: e.target, value: e.value, data: e.callData })) };
}

/** The code an EOA has once it delegates to `executor` (EIP-7702: 0xef0100 ‖ address). */
export function delegationCode(executor: Address): Hex {
  return concatHex(['0xef0100', executor.toLowerCase() as Hex]);
}

export function isDelegatedTo(code: Hex | undefined, executor: Address): boolean {
  return (
    !!code &&
    code.length === 48 &&
    code.toLowerCase().startsWith('0xef0100') &&
    isAddressEqual(`0x${code.slice(8)}`, executor)
  );
}

/** The indexes of the calls that failed in a try-mode batch, with what they reverted with (from `agent`'s logs only). */
export function failedCallsOf(logs: Log[], agent: Address): Map<number, Hex> {
  const failed = new Map<number, Hex>();
  for (const log of parseEventLogs({
    abi: agentBatchExecutorAbi,
    eventName: 'ERC7579TryExecuteFail',
    logs,
    strict: false,
  })) {
    if (!isAddressEqual(log.address, agent)) continue;
    const { batchExecutionIndex, returndata } = log.args;
    if (batchExecutionIndex !== undefined) failed.set(Number(batchExecutionIndex), returndata ?? '0x');
  }
  return failed;
}
