import { parseAbiItem, type Address } from 'viem';
import type { X402TransferLog } from '@/db/x402-deliveries';
import type { X402Runtime } from './runtime';

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
// Blocks per eth_getLogs call when reading the token's transfers: public nodes cap the range a
// call may span (often a few thousand blocks); the audit uses the same default (AUDIT_LOG_BLOCK_RANGE).
const LOG_BLOCK_RANGE = 2_000n;

/** Transfers of the task's token from any of `from` to `to` since `fromBlock` (non-zero, not removed). */
export async function readTokenTransfers(
  rt: X402Runtime,
  { from: senders, to }: { from: Address[]; to: Address },
  fromBlock: bigint,
): Promise<X402TransferLog[]> {
  const latest = await rt.client.getBlockNumber();
  const out: X402TransferLog[] = [];
  for (let from = fromBlock; from <= latest; from += LOG_BLOCK_RANGE) {
    const toBlock = from + LOG_BLOCK_RANGE - 1n < latest ? from + LOG_BLOCK_RANGE - 1n : latest;
    const logs = await rt.client.getLogs({
      address: rt.policy.token,
      event: transferEvent,
      args: { from: senders, to },
      fromBlock: from,
      toBlock,
    });
    for (const l of logs)
      if (!l.removed && l.args.value && l.args.value > 0n)
        out.push({ txHash: l.transactionHash, logIndex: l.logIndex, blockNumber: l.blockNumber, amount: l.args.value });
  }
  return out;
}
