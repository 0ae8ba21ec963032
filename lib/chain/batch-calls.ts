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
// and read here directly: every word in the place the ABI's canonical encoding puts it.
const word = (n: number | bigint) => n.toString(16).padStart(64, '0');
const padded = (hex: string) => hex.padEnd(Math.ceil(hex.length / 64) * 64, '0');

/** `execute(mode, abi.encode(Execution[]))` for these calls: byte for byte what viem's encodeFunctionData returns (tested). */
export function encodeBatchExecute(calls: BatchCall[], mode: Hex = BATCH_MODE.try): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(mode)) throw new Error(`batch mode must be 32 bytes: ${mode}`);
  // abi.encode(Execution[]): the array's offset, its length, one offset per tuple (from the first), then the tuples.
  const tuples = calls.map((c) => {
    if (!isAddress(c.to, { strict: false })) throw new Error(`not an address: ${c.to}`);
    const data = c.data.slice(2).toLowerCase();
    if (!/^([0-9a-f]{2})*$/.test(data)) throw new Error('call data must be whole bytes of hex');
    return `${c.to.slice(2).toLowerCase().padStart(64, '0')}${word(c.value ?? 0n)}${word(0x60)}${word(data.length / 2)}${padded(data)}`;
  });
  let offset = 32 * calls.length;
  const heads = tuples.map((t) => {
    const head = word(offset);
    offset += t.length / 2;
    return head;
  });
  const executions = `${word(0x20)}${word(calls.length)}${heads.join('')}${tuples.join('')}`;
  return `${EXECUTE_SELECTOR}${mode.slice(2).toLowerCase()}${word(0x40)}${word(executions.length / 2)}${executions}`;
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
  const hex = data.toLowerCase();
  if (!hex.startsWith(EXECUTE_SELECTOR) || (hex.length - 10) % 64 !== 0) return undefined;
  const body = hex.slice(10);
  const at = (i: number) => body.slice(i * 64, i * 64 + 64); // word i of the arguments
  const num = (w: string) => (/^0{48}[0-9a-f]{16}$/.test(w) ? Number.parseInt(w.slice(48), 16) : -1);
  if (num(at(1)) !== 0x40) return undefined;
  const bytesLength = num(at(2));
  if (bytesLength < 0 || bytesLength % 32 !== 0 || body.length !== (3 + bytesLength / 32) * 64) return undefined;
  const base = 3; // the Execution[] encoding starts at word 3
  if (num(at(base)) !== 0x20) return undefined;
  const count = num(at(base + 1));
  if (count < 0 || count > 10_000) return undefined;
  const heads = base + 2; // offsets are in bytes from here
  const calls: BatchCall[] = [];
  let expected = 32 * count;
  for (let i = 0; i < count; i++) {
    if (num(at(heads + i)) !== expected) return undefined;
    const tuple = heads + expected / 32;
    const target = at(tuple);
    if (!target.startsWith('0'.repeat(24)) || num(at(tuple + 2)) !== 0x60) return undefined;
    const length = num(at(tuple + 3));
    if (length < 0) return undefined;
    const words = Math.ceil(length / 32);
    const start = (tuple + 4) * 64;
    const callData = body.slice(start, start + length * 2);
    if (
      callData.length !== length * 2 ||
      body.slice(start + length * 2, start + words * 64) !== '0'.repeat(words * 64 - length * 2)
    )
      return undefined;
    calls.push({ to: getAddress(`0x${target.slice(24)}`), value: BigInt(`0x${at(tuple + 1)}`), data: `0x${callData}` });
    expected += (4 + words) * 32;
  }
  if (heads * 64 + expected * 2 !== body.length) return undefined;
  return { mode: `0x${at(0)}`, calls };
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
