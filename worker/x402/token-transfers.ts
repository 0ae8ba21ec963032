import { getAddress, parseAbiItem, type Address } from 'viem';
import type { X402TransferLog } from '@/db/x402-deliveries';
import type { X402Runtime } from './runtime';

const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');
// Blocks per eth_getLogs call when reading the token's transfers: public nodes cap the range a
// call may span (often a few thousand blocks); the audit uses the same default (AUDIT_LOG_BLOCK_RANGE).
const LOG_BLOCK_RANGE = 2_000n;

/** A Transfer of the task's token, with who sent it to whom (checksummed). */
export type TokenTransfer = X402TransferLog & { from: Address; to: Address };

/**
 * Transfers of the task's token in blocks `fromBlock`..`toBlock` (non-zero, not removed), from
 * any of `from` (any sender when not given) to `to` (any receiver when not given). `toBlock` is
 * the one block the caller's decision is made at: never "whatever the node calls latest now".
 */
export async function readTokenTransfers(
  rt: X402Runtime,
  { from: senders, to }: { from?: Address[]; to?: Address },
  fromBlock: bigint,
  toBlock: bigint,
): Promise<TokenTransfer[]> {
  const out: TokenTransfer[] = [];
  for (let from = fromBlock; from <= toBlock; from += LOG_BLOCK_RANGE) {
    const last = from + LOG_BLOCK_RANGE - 1n < toBlock ? from + LOG_BLOCK_RANGE - 1n : toBlock;
    const logs = await rt.client.getLogs({
      address: rt.policy.token,
      event: transferEvent,
      args: { from: senders, to },
      fromBlock: from,
      toBlock: last,
    });
    for (const l of logs)
      if (!l.removed && l.args.value && l.args.value > 0n && l.args.from && l.args.to)
        out.push({
          txHash: l.transactionHash,
          logIndex: l.logIndex,
          blockNumber: l.blockNumber,
          amount: l.args.value,
          from: getAddress(l.args.from),
          to: getAddress(l.args.to),
        });
  }
  return out;
}
