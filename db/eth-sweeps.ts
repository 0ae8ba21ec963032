import { getSql } from './client';
import type { EthSweepStatus } from './schema';

// agent_eth_sweeps and the sweep marker of ai_agent_wallets (lib/wallets/sweep.ts): which idle
// wallets may hold ETH to give back, and every sweep sent.

/**
 * Wallets topped up since a sweep last looked at them, the mark older than `quietMs`, with no
 * task that uses the wallet's gas now or is about to (funded, processing, or a funding transfer
 * on its way), oldest mark first. The partial index on the mark keeps this cheap however many
 * wallets there are.
 */
export async function listEthSweepDueWallets({ quietMs, limit }: { quietMs: number; limit: number }) {
  const rows = await getSql()<{ id: string }[]>`
    select w.id from ai_agent_wallets w
    where w.eth_sweep_due_at is not null
      and w.eth_sweep_due_at < now() - make_interval(secs => ${quietMs / 1000})
      and not exists (select 1 from ai_agent_tasks t where t.agent_wallet_id = w.id and ${busyTask()})
    order by w.eth_sweep_due_at
    limit ${limit}`;
  return rows.map((r) => r.id);
}

/** A task that is spending the wallet's gas, or will be as soon as its funding lands. */
const busyTask = () =>
  getSql()`(t.status in ('funded', 'processing') or (t.status = 'pending_payment' and t.funding_submitted_at is not null))`;

/** Whether a task of the wallet uses its gas now or is about to (see busyTask). */
export async function hasBusyTaskByWallet({ agentWalletId }: { agentWalletId: string }): Promise<boolean> {
  const rows =
    await getSql()`select 1 from ai_agent_tasks t where t.agent_wallet_id = ${agentWalletId} and ${busyTask()} limit 1`;
  return rows.length > 0;
}

/** A sweep looked at the wallet and left it holding no more than it should. */
export async function clearEthSweepDue({ agentWalletId }: { agentWalletId: string }) {
  await getSql()`update ai_agent_wallets set eth_sweep_due_at = null where id = ${agentWalletId}`;
}

/** Written before the sweep is broadcast: its hash and nonce are known from the signed bytes. */
export async function insertEthSweep(sweep: {
  agentWalletId: string;
  userAddress: string;
  amountWei: bigint;
  maxGasWei: bigint;
  nonce: number;
  txHash: string;
}): Promise<string> {
  const [row] = await getSql()<{ id: string }[]>`
    insert into agent_eth_sweeps (agent_wallet_id, user_address, amount_wei, max_gas_wei, nonce, tx_hash)
    values (${sweep.agentWalletId}, ${sweep.userAddress.toLowerCase()}, ${sweep.amountWei.toString()}::numeric,
      ${sweep.maxGasWei.toString()}::numeric, ${sweep.nonce}, ${sweep.txHash})
    returning id::text`;
  return row!.id;
}

/** The wallet's sweeps whose receipt was never recorded (a worker drained or killed first, a wait that timed out). */
export async function listSentEthSweepsByWallet({ agentWalletId }: { agentWalletId: string }) {
  return getSql()<{ id: string; txHash: string; nonce: number }[]>`
    select id::text, tx_hash as "txHash", nonce from agent_eth_sweeps
    where agent_wallet_id = ${agentWalletId} and status = 'sent' order by id`;
}

export async function settleEthSweep({
  id,
  status,
  gasCostWei,
}: {
  id: string;
  status: Exclude<EthSweepStatus, 'sent'>;
  gasCostWei?: bigint;
}) {
  await getSql()`
    update agent_eth_sweeps set status = ${status}, gas_cost_wei = ${gasCostWei?.toString() ?? null}::numeric,
      confirmed_at = case when ${status} = 'confirmed' then now() end
    where id = ${id} and status = 'sent'`;
}

export type WalletEthRow = {
  id: string;
  userAddress: string;
  agentAddress: string;
  ethSweepDueAt: Date | null;
  sweeps: number;
  sweptWei: string;
  lastSweepAt: Date | null;
};

/** Every agent wallet with its sweep marker and what sweeps gave back (`npm run ops -- wallets`), newest first. */
export async function listWalletsWithSweeps({ limit }: { limit: number }): Promise<WalletEthRow[]> {
  const rows = await getSql()<WalletEthRow[]>`
    select w.id, w.user_address as "userAddress", w.agent_address as "agentAddress", w.eth_sweep_due_at as "ethSweepDueAt",
      count(s.id)::int as sweeps, coalesce(sum(s.amount_wei) filter (where s.status = 'confirmed'), 0)::text as "sweptWei",
      max(s.created_at) as "lastSweepAt"
    from ai_agent_wallets w left join agent_eth_sweeps s on s.agent_wallet_id = w.id
    group by w.id
    order by w.created_at desc
    limit ${limit}`;
  // A raw query returns timestamps as text: drizzle's postgres-js driver turns off postgres.js's date parsing.
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return rows.map((r) => ({ ...r, ethSweepDueAt: date(r.ethSweepDueAt), lastSweepAt: date(r.lastSweepAt) }));
}

export async function countWallets(): Promise<number> {
  const [row] = await getSql()<{ n: number }[]>`select count(*)::int as n from ai_agent_wallets`;
  return row!.n;
}
