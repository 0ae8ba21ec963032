import { concatHex, decodeAbiParameters, decodeFunctionData, encodeAbiParameters, encodeFunctionData, isAddressEqual, parseEventLogs, type Address, type Hex, type Log } from 'viem';
import { agentBatchExecutorAbi } from './contracts.generated';

// How a batch looks on the wire: `execute(mode, abi.encode(Execution[]))` sent by the agent to
// its own address, which runs AgentBatchExecutor's code there (EIP-7702 delegation).

/** ERC-7579 mode: batch call type, revert-all (`0x00`) or try (`0x01`) exec type, no selector or payload. */
export const BATCH_MODE = { revertAll: `0x01${'00'.repeat(31)}`, try: `0x0101${'00'.repeat(30)}` } as const satisfies Record<string, Hex>;

export type BatchCall = { to: Address; value?: bigint; data: Hex };

const executionsType = [{ type: 'tuple[]', components: [{ name: 'target', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'callData', type: 'bytes' }] }] as const;

export function encodeBatchExecute(calls: BatchCall[], mode: Hex = BATCH_MODE.try): Hex {
  const executions = calls.map((c) => ({ target: c.to, value: c.value ?? 0n, callData: c.data }));
  return encodeFunctionData({ abi: agentBatchExecutorAbi, functionName: 'execute', args: [mode, encodeAbiParameters(executionsType, [executions])] });
}

/** The mode and the calls of an `execute` calldata; throws on anything else. */
export function decodeBatchExecute(data: Hex): { mode: Hex; calls: BatchCall[] } {
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
  return !!code && code.length === 48 && code.toLowerCase().startsWith('0xef0100') && isAddressEqual(`0x${code.slice(8)}`, executor);
}

/** The indexes of the calls that failed in a try-mode batch, with what they reverted with (from `agent`'s logs only). */
export function failedCallsOf(logs: Log[], agent: Address): Map<number, Hex> {
  const failed = new Map<number, Hex>();
  for (const log of parseEventLogs({ abi: agentBatchExecutorAbi, eventName: 'ERC7579TryExecuteFail', logs, strict: false })) {
    if (!isAddressEqual(log.address, agent)) continue;
    const { batchExecutionIndex, returndata } = log.args;
    if (batchExecutionIndex !== undefined) failed.set(Number(batchExecutionIndex), returndata ?? '0x');
  }
  return failed;
}
