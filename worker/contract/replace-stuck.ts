import { keccak256, parseTransaction } from 'viem';
import { replaceBatchTransaction, replaceMintTransaction } from '@/db/mint-records';
import { bumpFees, gweiToWei } from '@/lib/chain/fees';
import { getConfig } from '@/lib/config';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import type { CollectContext, PendingMint } from './mint-chain';

/** Same nonce, same mintId, fees +12.5% (capped): whichever of the two is mined settles the mint. */
export async function replaceStuck(ctx: CollectContext, mint: PendingMint, block: bigint) {
  const config = getConfig().worker;
  const tx = parseTransaction(mint.raw);
  if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) return;
  const base = (await ctx.client.getBlock({ blockTag: 'latest' })).baseFeePerGas ?? 0n;
  const fees = bumpFees(
    { maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas },
    { capWei: gweiToWei(config.maxFeeGwei), baseFee: base },
  );
  if (!fees) return;
  // Rebuilt field by field: the parsed transaction still carries the old signature (r, s,
  // yParity), and signing over that would recover to a stranger with no funds.
  // A batch that installs the delegation keeps its authorization: it is signed for the nonce
  // after this one, which the replacement still has.
  await assertLease(ctx);
  const fields = {
    chainId: tx.chainId,
    nonce: tx.nonce,
    to: tx.to,
    data: tx.data,
    gas: tx.gas,
    value: tx.value ?? 0n,
    ...fees,
  };
  const raw = await ctx.resign(
    tx.type === 'eip7702'
      ? { ...fields, type: 'eip7702', authorizationList: tx.authorizationList }
      : { ...fields, type: 'eip1559' },
  );
  const hash = keccak256(raw);
  const stored = mint.batch
    ? await replaceBatchTransaction({
        taskId: ctx.task.id,
        previousTxHash: mint.hashes.at(-1)!,
        txHash: hash,
        rawTransaction: raw,
        ...fees,
      })
    : await replaceMintTransaction({
        taskId: ctx.task.id,
        sequenceNumber: mint.sequenceNumber,
        txHash: hash,
        rawTransaction: raw,
        ...fees,
      });
  if (!stored) return;
  mint.raw = raw;
  mint.hashes.push(hash);
  mint.sentBlock = block;
  mint.sentAt = Date.now();
  await broadcastRaw(ctx.client, [raw]).catch((error) =>
    ctx.reporter.error(ctx.task, error, `replacement of mint ${mint.sequenceNumber} not accepted`),
  );
  ctx.reporter.replaced(ctx.task, {
    sequenceNumber: mint.sequenceNumber,
    txHash: hash,
    maxFeePerGas: fees.maxFeePerGas,
  });
}
