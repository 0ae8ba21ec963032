import { encodeFunctionData, erc20Abi, keccak256 } from 'viem';
import type { Fees } from '@/lib/chain/fees';
import { waitForReceipt } from '@/lib/chain/receipts';
import { getConfig } from '@/lib/config';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import { unlockSigner, type TaskRuntime } from './runtime';

// One transaction per mint needs the agent's USDC allowance for the token first: an approval of
// its own. (An EIP-7702 batch carries the approval as its first call instead: eip7702-batch.ts.)

/**
 * Approves exactly what the remaining mints need, and only when the allowance is short: each
 * mint spends its price from the allowance, so one approval covers the whole task. The approval
 * is not in the ledger because it is idempotent (it sets, not adds): after a crash the worst
 * case is a second approval of the same amount.
 */
export async function ensureAllowance(
  rt: TaskRuntime,
  { need, allowance, fees, nonce }: { need: bigint; allowance: bigint; fees: Fees; nonce: number },
): Promise<boolean> {
  if (allowance >= need) return false;
  const { client } = rt;
  rt.reporter.approving(rt.task, need);
  const data = encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [rt.task.tokenAddress, need] });
  const gas = await client.estimateGas({ account: rt.task.agentAddress, to: rt.usdc, data });
  const raw = await (
    await unlockSigner(rt, need)
  ).signTransaction({
    type: 'eip1559',
    chainId: rt.chainId,
    to: rt.usdc,
    data,
    nonce,
    gas: (gas * 12n) / 10n,
    value: 0n,
    ...fees,
  });
  await assertLease(rt);
  await broadcastRaw(client, [raw]);
  const hash = keccak256(raw);
  const receipt = await waitForReceipt(client, hash, getConfig().worker.receiptTimeoutMs);
  if (receipt.status !== 'success') throw new Error(`USDC approval ${hash} reverted`);
  rt.reporter.approved(rt.task, hash);
  return true;
}
