import { formatEther, getAddress, parseEther, type Address } from 'viem';
import { countWallets, listWalletsWithSweeps } from '@/db/eth-sweeps';
import { getPublicClient } from '../chain/clients';
import { getConfig } from '../config';
import { table } from '../text-table';
import type { CommandResult } from './commands';

/** Balances read at once: an operator's command, not a reason to flood the node. */
const READS_AT_ONCE = 8;

/**
 * `ops wallets`: the operator's ETH parked in agent wallets, wallet by wallet (most first) with
 * the total, what sweeps gave back, and the wallets marked for the worker's next sweep. Reads the
 * `limit` newest wallets' balances from the chain (one request each).
 */
export async function walletsCommand({ limit }: { limit: number }): Promise<CommandResult> {
  const [rows, total] = await Promise.all([listWalletsWithSweeps({ limit }), countWallets()]);
  const balances = await readBalances(rows.map((r) => getAddress(r.agentAddress)));
  const floorWei = parseEther(getConfig().worker.agentMinEth);
  const wallets = rows
    .map((r, i) => {
      const ethWei = balances[i]!;
      return {
        userAddress: getAddress(r.userAddress),
        agentAddress: getAddress(r.agentAddress),
        ethWei: ethWei.toString(),
        aboveFloorWei: (ethWei > floorWei ? ethWei - floorWei : 0n).toString(),
        sweepDueSince: r.ethSweepDueAt?.toISOString() ?? null,
        sweeps: r.sweeps,
        sweptWei: r.sweptWei,
        lastSweepAt: r.lastSweepAt?.toISOString() ?? null,
      };
    })
    .sort((a, b) => (BigInt(b.ethWei) > BigInt(a.ethWei) ? 1 : BigInt(b.ethWei) < BigInt(a.ethWei) ? -1 : 0));
  const sum = (pick: (w: (typeof wallets)[number]) => string) => wallets.reduce((a, w) => a + BigInt(pick(w)), 0n);
  const parkedWei = sum((w) => w.ethWei);
  const aboveFloorWei = sum((w) => w.aboveFloorWei);
  const sweptWei = sum((w) => w.sweptWei);
  const holding = wallets.filter((w) => BigInt(w.ethWei) > 0n).length;
  const json = {
    wallets,
    walletsRead: wallets.length,
    walletsTotal: total,
    floorWei: floorWei.toString(),
    parkedWei: parkedWei.toString(),
    aboveFloorWei: aboveFloorWei.toString(),
    sweptWei: sweptWei.toString(),
  };
  const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;
  const text = [
    table(
      ['user', 'agent', 'ETH', 'above floor', 'sweep due since', 'sweeps', 'swept ETH'],
      wallets.map((w) => [
        short(w.userAddress),
        w.agentAddress,
        formatEther(BigInt(w.ethWei)),
        formatEther(BigInt(w.aboveFloorWei)),
        w.sweepDueSince?.replace('T', ' ').slice(0, 19) ?? '',
        w.sweeps,
        formatEther(BigInt(w.sweptWei)),
      ]),
    ),
    '',
    `ETH parked in agent wallets: ${formatEther(parkedWei)} in ${holding} of ${wallets.length} wallet(s) read (of ${total}); ` +
      `${formatEther(aboveFloorWei)} above the floor (AGENT_MIN_ETH ${formatEther(floorWei)} each); ${formatEther(sweptWei)} swept back so far`,
  ].join('\n');
  return { json, text };
}

async function readBalances(agents: Address[]): Promise<bigint[]> {
  const client = getPublicClient();
  const out: bigint[] = new Array(agents.length);
  let next = 0;
  const reader = async () => {
    while (next < agents.length) {
      const slot = next++;
      out[slot] = await client.getBalance({ address: agents[slot]! });
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, agents.length) }, reader));
  return out;
}
