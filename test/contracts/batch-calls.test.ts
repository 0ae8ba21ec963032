import {
  decodeAbiParameters,
  decodeFunctionData,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  type Hex,
} from 'viem';
import { describe, expect, it } from 'vitest';
import { BATCH_MODE, decodeBatchExecute, encodeBatchExecute, type BatchCall } from '@/lib/chain/batch-calls';
import { agentBatchExecutorAbi } from '@/lib/chain/contracts.generated';

// The batch calldata is written and read by hand (lib/chain/batch-calls.ts); the guard signs
// what it reads. These check it against viem's ABI coder, byte for byte and call for call.

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

function viemEncode(calls: BatchCall[], mode: Hex): Hex {
  const executions = calls.map((c) => ({ target: c.to, value: c.value ?? 0n, callData: c.data }));
  return encodeFunctionData({
    abi: agentBatchExecutorAbi,
    functionName: 'execute',
    args: [mode, encodeAbiParameters(executionsType, [executions])],
  });
}

function viemDecode(data: Hex) {
  const { args } = decodeFunctionData({ abi: agentBatchExecutorAbi, data });
  const [mode, executionData] = args as readonly [Hex, Hex];
  const [executions] = decodeAbiParameters(executionsType, executionData);
  return { mode, calls: executions.map((e) => ({ to: e.target, value: e.value, data: e.callData })) };
}

const hexOf = (bytes: number, seed: number) =>
  `0x${Array.from({ length: bytes }, (_, i) => ((seed * 31 + i * 7) % 256).toString(16).padStart(2, '0')).join('')}` as Hex;
const address = (seed: number) => getAddress(hexOf(20, seed));

const cases: [string, BatchCall[]][] = [
  ['empty batch', []],
  ['one mint-sized call', [{ to: address(1), data: hexOf(164, 1) }]],
  [
    'calls of every padding (0, 1, 31, 32, 33 bytes) and a value',
    [0, 1, 31, 32, 33].map((n, i) => ({
      to: address(i + 2),
      data: n ? hexOf(n, i) : '0x',
      value: BigInt(i) * 10n ** 18n,
    })),
  ],
  [
    '200 mints and an approval',
    [
      { to: address(9), data: hexOf(68, 9) },
      ...Array.from({ length: 200 }, (_, i) => ({ to: address(10), data: hexOf(164, i) })),
    ],
  ],
];

describe('batch calldata', () => {
  it.each(cases)('%s: encoded as viem encodes it, decoded as viem decodes it', (_, calls) => {
    for (const mode of [BATCH_MODE.try, BATCH_MODE.revertAll]) {
      const data = encodeBatchExecute(calls, mode);
      expect(data).toBe(viemEncode(calls, mode));
      expect(decodeBatchExecute(data)).toEqual(viemDecode(data));
    }
  });

  it('reads a non-canonical layout (a call data offset moved, a dirty padding byte) as viem reads it, not as the canonical one', () => {
    const calls = [
      { to: address(1), data: hexOf(5, 1) },
      { to: address(2), data: hexOf(3, 2) },
    ];
    const canonical = encodeBatchExecute(calls);
    // The second tuple's callData offset (0x60) pointed one word further, with one more word appended.
    const body = canonical.slice(10);
    const words = body.match(/.{64}/g)!;
    const secondTuple = 5 + Number.parseInt(words[6]!, 16) / 32;
    expect(Number.parseInt(words[secondTuple + 2]!, 16)).toBe(0x60);
    words[secondTuple + 2] = (0x80).toString(16).padStart(64, '0');
    words.splice(secondTuple + 3, 0, 'ff'.repeat(32));
    words[2] = (Number.parseInt(words[2]!, 16) + 32).toString(16).padStart(64, '0');
    const moved = `${canonical.slice(0, 10)}${words.join('')}` as Hex;
    expect(decodeBatchExecute(moved)).toEqual(viemDecode(moved));

    const dirty = `${canonical.slice(0, -2)}01` as Hex; // the last call's padding
    const read = (() => {
      try {
        return viemDecode(dirty);
      } catch (error) {
        return error;
      }
    })();
    if (read instanceof Error) expect(() => decodeBatchExecute(dirty)).toThrow();
    else expect(decodeBatchExecute(dirty)).toEqual(read);
  });

  it('reads and writes uppercase hex as the same bytes (viem keeps the case it is given; the bytes are what is signed)', () => {
    const calls = [
      { to: address(1), data: hexOf(37, 1), value: 7n },
      { to: address(2), data: hexOf(164, 2) },
    ];
    const upper = calls.map((c) => ({
      ...c,
      to: `0x${c.to.slice(2).toUpperCase()}` as Hex,
      data: `0x${c.data.slice(2).toUpperCase()}` as Hex,
    }));
    const mode = `0x${BATCH_MODE.revertAll.slice(2).toUpperCase()}` as Hex;
    const data = encodeBatchExecute(upper, mode);
    expect(data).toBe(viemEncode(calls, BATCH_MODE.revertAll));
    // viem (which refuses an all-uppercase address: no checksum) writes uppercase data and mode as given.
    const viemUpper = viemEncode(
      upper.map((c, i) => ({ ...c, to: calls[i]!.to })),
      mode,
    );
    expect(viemUpper).not.toBe(data);
    expect(data).toBe(viemUpper.toLowerCase());
    const shouted = `${data.slice(0, 10)}${data.slice(10).toUpperCase()}` as Hex;
    expect(decodeBatchExecute(shouted)).toEqual(viemDecode(shouted));
    expect(decodeBatchExecute(`0x${data.slice(2).toUpperCase()}` as Hex)).toEqual(viemDecode(data));
  });

  it('writes every uint256 value as viem does and refuses what viem refuses: values out of range, call data of half bytes', () => {
    const max = 2n ** 256n - 1n;
    for (const value of [1n, 2n ** 48n, 2n ** 64n + 1n, max]) {
      const calls = [{ to: address(3), data: hexOf(2, 3), value }];
      const data = encodeBatchExecute(calls);
      expect(data).toBe(viemEncode(calls, BATCH_MODE.try));
      expect(decodeBatchExecute(data)).toEqual(viemDecode(data));
    }
    for (const value of [-1n, max + 1n]) {
      const calls = [{ to: address(3), data: '0x' as Hex, value }];
      expect(() => viemEncode(calls, BATCH_MODE.try)).toThrow();
      expect(() => encodeBatchExecute(calls)).toThrow(/uint256/);
    }
    for (const data of ['0xabc', '0x0g', 'ab'] as Hex[]) {
      expect(() => encodeBatchExecute([{ to: address(4), data }])).toThrow(/whole bytes/);
    }
    expect(() => encodeBatchExecute([{ to: '0x1234' as Hex, data: '0x' }])).toThrow(/not an address/);
  });

  it('refuses calldata with a character that is not hex, whichever decoder reads it', () => {
    const data = encodeBatchExecute([{ to: address(5), data: hexOf(4, 5) }]);
    expect(() => decodeBatchExecute(`${data.slice(0, -3)}zz0` as Hex)).toThrow();
  });

  it('refuses what is not an execute call', () => {
    expect(() => decodeBatchExecute('0x12345678')).toThrow();
    expect(() => decodeBatchExecute(`${encodeBatchExecute([]).slice(0, -64)}` as Hex)).toThrow();
  });
});
