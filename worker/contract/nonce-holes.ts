import type { Hex } from 'viem';
import { getConfig } from '@/lib/config';
import { feesOf, quoteFees } from '@/lib/chain/fees';
import { keccak } from '@/lib/chain/native-crypto';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import type { CollectContext, PendingMint } from './mint-chain';

/**
 * Fills nonce holes before the open rows are collected. Transactions of one account are mined
 * in nonce order, so a nonce below an open row that no recorded transaction will ever use (its
 * row was settled as failed, or a send was signed and lost outside the ledger) holds every
 * later one in the node's queue forever: rebroadcasts and fee bumps of the later ones cannot
 * help. Each such nonce gets an empty 0-value transaction to the agent itself (the one thing
 * beyond its task the guard lets it send for this), and the rows behind it can be mined.
 * A nonce the node already holds a transaction for (below its pending count) is no hole.
 * Returns the nonces filled.
 */
export async function fillNonceHoles(ctx: CollectContext, open: PendingMint[]): Promise<number[]> {
  if (open.length === 0) return [];
  const { client, task } = ctx;
  const block = await client.getBlockNumber({ cacheTime: 0 });
  const [latest, pending] = await Promise.all([
    client.getTransactionCount({ address: task.agentAddress, blockNumber: block }),
    client.getTransactionCount({ address: task.agentAddress, blockTag: 'pending' }),
  ]);
  const recorded = new Set(open.map((m) => m.nonce));
  const top = Math.max(...recorded);
  const holes: number[] = [];
  for (let nonce = Math.max(latest, pending); nonce < top; nonce++) if (!recorded.has(nonce)) holes.push(nonce);
  if (holes.length === 0) return [];

  const [quote, gas] = await Promise.all([
    quoteFees(client, { maxFeeGwei: getConfig().worker.maxFeeGwei }),
    // 21,000 for a plain account; more when it delegates (EIP-7702) and its receive() runs.
    client.estimateGas({ account: task.agentAddress, to: task.agentAddress, value: 0n }),
  ]);
  const chainId = await client.getChainId();
  const raws: Hex[] = [];
  for (const nonce of holes) {
    raws.push(
      await ctx.resign({
        type: 'eip1559',
        chainId,
        to: task.agentAddress,
        value: 0n,
        nonce,
        gas: (gas * 12n) / 10n,
        ...feesOf(quote),
      }),
    );
  }
  await assertLease(ctx);
  // "Nonce too low" (someone's transaction took it meanwhile) and "already known" pass: no hole left either way.
  await broadcastRaw(client, raws);
  ctx.reporter.nonceHolesFilled(ctx.task, { nonces: holes, txHashes: raws.map((r) => keccak(r)) });
  return holes;
}
