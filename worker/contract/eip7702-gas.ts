import type { Hex } from 'viem';
import { BATCH_MODE, encodeBatchExecute, type BatchCall } from '@/lib/chain/batch-calls';
import { MAX_MINT_GAS } from '@/lib/chain/mint-gas';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import type { TaskRuntime } from './runtime';

/**
 * The gas of a batch as base + perMint × N, from two estimates of tiny batches ([approval?, one
 * mint] and [approval?, two mints]) rather than one of the whole batch: eth_estimateGas searches
 * by executing the call ~25 times, and for a 200-mint batch that was most of the run's anvil CPU
 * (bench:mint). The second mint is the typical one (the first warms the slots they share); +25%.
 */
export async function estimateBatchGas(
  rt: TaskRuntime,
  approval: BatchCall[],
  mintCalls: BatchCall[],
  stateOverride: { address: Hex; code: Hex }[] | undefined,
) {
  const agent = rt.task.agentAddress;
  // Estimated in revert-all mode: in try mode a mint that runs out of gas is caught and the
  // batch still succeeds, so the node's search for the lowest gas that succeeds can settle
  // where the mints fail, and the real batch, given that, runs out of gas as a whole. A second
  // mint the token refuses (revert-all then reverts) falls back to try mode.
  // Both against one block: the difference of two estimates is only a mint's gas if nothing
  // between them changed what a mint costs. Against "latest" each, another task's first mint of
  // the same token mined in between (slots going from zero to non-zero: ~34,000 gas) made the
  // pair look cheaper than one, and every batch of the run then ran out of gas (found by CI).
  const blockNumber = await rt.client.getBlockNumber({ cacheTime: 0 });
  const estimate = (calls: BatchCall[], mode: Hex = BATCH_MODE.revertAll) =>
    rt.client.estimateGas({
      account: agent,
      to: agent,
      data: encodeBatchExecute(calls, mode),
      stateOverride,
      blockNumber,
    });
  const second = mintCalls[1] ?? mintCalls[0]!;
  const pair = [...approval, mintCalls[0]!, second];
  const [one, two] = await Promise.all([
    estimate([...approval, mintCalls[0]!]),
    second === mintCalls[0]
      ? estimate(pair, BATCH_MODE.try)
      : estimate(pair).catch(() => estimate(pair, BATCH_MODE.try)),
  ]);
  const perMint = ((two > one ? two - one : one) * 125n) / 100n;
  // The operator pays this gas: the same cap as a single mint's (single-mint-batch.ts), before anything is sent.
  if (perMint > MAX_MINT_GAS) {
    throw new MintRevertError(
      'gas_cap',
      `The token's mint needs ${perMint} gas, more than the ${MAX_MINT_GAS} AgentMint pays for one mint; no mint was sent.`,
    );
  }
  rt.batchGas = { base: (one * 125n) / 100n, perMint };
  rt.gasPerMint = perMint;
}
