import type { Address, Hex } from 'viem';
import { insertAuditRun, readLedgerFacts, type LedgerFacts } from '@/db/audit';
import { getKnownContracts, getOperatorAccount } from '../chain/clients';
import { getConfig } from '../config';
import { isAuthorizationUsedAt } from '../chain/eip3009';
import { auditClient, isMintIdUsedAt, readChainFacts, type ChainFacts } from './chain-facts';
import { compareUser } from './compare';
import type { AuditReport, ClaimAudit, Discrepancy, UserAudit } from './types';
import { readReceipts } from './x402-evidence';

export type AuditOptions = {
  /** One user's wallet only. */
  userAddress?: string;
  /** First block read; default AUDIT_FROM_BLOCK, else the block of the first funding transaction. */
  fromBlock?: bigint;
  /** Blocks per eth_getLogs call; default AUDIT_LOG_BLOCK_RANGE. */
  blockRange?: bigint;
  /** Keep the run in audit_runs (the admin page shows the latest). */
  record?: boolean;
  /** Read the chain through this node instead of RPC_URL (an archive node, or a second provider to cross-check). */
  rpcUrl?: string;
};

// The stored run (what /admin shows) keeps the first 100 discrepancies: enough to act on, and a
// badly broken ledger cannot make one row megabytes. The command's own output lists them all.
const STORED_DISCREPANCIES = 100;

/**
 * The funds audit: reads the ledger, then the chain over [fromBlock, latest], compares them per
 * user (lib/audit/compare.ts) and, unless told not to, stores the run. Meant for a quiet
 * system; while a task is processing its unsettled mints are counted as in flight.
 */
export async function runAudit(options: AuditOptions = {}): Promise<AuditReport> {
  const startedAt = new Date();
  const config = getConfig();
  const rpcUrl = options.rpcUrl ?? config.rpcUrl;
  const client = auditClient(rpcUrl);
  const ledger = await readLedgerFacts({ userAddress: options.userAddress });
  const toBlock = await client.getBlockNumber({ cacheTime: 0 });
  const { fromBlock, source } = await resolveFromBlock(client, ledger, options.fromBlock, toBlock);
  const blockRange = options.blockRange ?? BigInt(config.audit.logBlockRange);
  const { usdc, batchExecutor } = getKnownContracts();
  const operator = getOperatorAccount().address;
  const tokens = [
    ...new Set(ledger.tasks.filter((t) => t.route === 'contract').map((t) => t.tokenAddress.toLowerCase())),
  ] as Address[];

  const chain = await readChainFacts(client, {
    rpcUrl,
    usdc,
    agents: ledger.wallets.map((w) => w.agentAddress as Address),
    tokens,
    fromBlock,
    toBlock,
    blockRange,
  });
  chain.receipts = await readReceipts(client, evidenceTxs(ledger, chain));
  const users = [];
  const claims: ClaimAudit[] = [];
  const discrepancies: Discrepancy[] = [];
  for (const wallet of ledger.wallets) {
    const found = compareUser(wallet, ledger, chain, { usdc, operator, batchExecutor });
    users.push(found.audit);
    claims.push(...found.claims);
    discrepancies.push(...found.discrepancies);
  }
  await explainMissingMints(client, ledger, discrepancies, fromBlock, toBlock);
  await explainMissingPayments(client, usdc, ledger, discrepancies, fromBlock, toBlock);

  const notes: string[] = [];
  for (const u of users) {
    if (BigInt(u.eth.topUpsRecorded) > BigInt(u.eth.topUps)) {
      notes.push(
        `${u.user}: tasks reserved ${u.eth.topUpsRecorded} wei of gas top-ups, the operator sent ${u.eth.topUps} in the range (a reserved top-up that timed out, or one before the range)`,
      );
    }
    for (const t of u.tasks)
      if (t.x402Undelivered)
        notes.push(
          `${u.user}: x402 task ${t.id} (${t.status}) paid for ${t.x402Undelivered} mint(s) whose tokens have not arrived (${claims.filter((c) => c.taskId === t.id && c.status === 'open').length} open claim(s))`,
        );
    if (BigInt(u.usdc.inFlight) > 0n)
      notes.push(
        `${u.user}: ${u.usdc.inFlight} USDC of mints and x402 payments on chain are not yet closed in the ledger (a worker settling them, or a delivered mint's authorization its seller settled later)`,
      );
  }
  const report: AuditReport = {
    startedAt: startedAt.toISOString(),
    fromBlock: fromBlock.toString(),
    toBlock: toBlock.toString(),
    fromBlockSource: source,
    blockRange: blockRange.toString(),
    ok: discrepancies.length === 0,
    users,
    eth: ethTotals(users),
    claims,
    discrepancies,
    notes,
  };
  if (options.record !== false) {
    await insertAuditRun({
      startedAt,
      fromBlock,
      toBlock,
      users: users.length,
      discrepancies: discrepancies.length,
      report: { ...report, users: undefined, discrepancies: discrepancies.slice(0, STORED_DISCREPANCIES) },
    });
  }
  return report;
}

/** Transactions x402 records name as evidence: each delivery's, each claim's settlement (or the one that used its authorization). */
function evidenceTxs(ledger: LedgerFacts, chain: ChainFacts): string[] {
  const usedByNonce = new Map(chain.authorizationsUsed.map((u) => [u.nonce.toLowerCase(), u.txHash]));
  return [
    ...ledger.deliveries.map((d) => d.txHash),
    ...ledger.claims.map((c) => c.settlementTxHash ?? usedByNonce.get(c.nonce)).filter((h): h is string => !!h),
  ];
}

function ethTotals(users: UserAudit[]): AuditReport['eth'] {
  const sum = (pick: (u: UserAudit) => string) => users.reduce((a, u) => a + BigInt(pick(u)), 0n).toString();
  return {
    topUps: sum((u) => u.eth.topUps),
    gasSpent: sum((u) => u.eth.gasSpent),
    swept: sum((u) => u.eth.swept),
    parked: sum((u) => u.eth.balance),
    walletsHolding: users.filter((u) => BigInt(u.eth.balance) > 0n).length,
  };
}

async function resolveFromBlock(
  client: ReturnType<typeof auditClient>,
  ledger: LedgerFacts,
  given: bigint | undefined,
  toBlock: bigint,
) {
  if (given !== undefined) return { fromBlock: given, source: '--from-block' };
  const configured = getConfig().audit.fromBlock;
  if (configured !== undefined) return { fromBlock: BigInt(configured), source: 'AUDIT_FROM_BLOCK' };
  const first = ledger.tasks
    .filter((t) => t.fundingTxHash && t.fundedAt)
    .sort((a, b) => new Date(a.fundedAt!).getTime() - new Date(b.fundedAt!).getTime())[0];
  if (!first) return { fromBlock: toBlock, source: 'no funded task: the latest block only' };
  const receipt = await client.getTransactionReceipt({ hash: first.fundingTxHash as Hex }).catch(() => undefined);
  if (!receipt) return { fromBlock: 0n, source: 'genesis (the first funding transaction was not found)' };
  return { fromBlock: receipt.blockNumber, source: `the first funding transaction (task ${first.id})` };
}

/** A confirmed mint without a Minted event in range: says whether its mintId was used before the range (read too little) or never. */
async function explainMissingMints(
  client: ReturnType<typeof auditClient>,
  ledger: LedgerFacts,
  found: Discrepancy[],
  fromBlock: bigint,
  toBlock: bigint,
) {
  for (const d of found) {
    if (d.kind !== 'ledger_mint_not_on_chain') continue;
    const task = ledger.tasks.find((t) => t.id === d.taskId);
    const row = ledger.mints.find((m) => m.taskId === d.taskId && m.sequenceNumber === d.sequenceNumber);
    if (!task || !row) continue;
    const used = await isMintIdUsedAt(client, task.tokenAddress as Address, row.mintId as Hex, toBlock).catch(
      () => undefined,
    );
    if (used === true)
      d.message += `; its mintId is used on chain, so it was minted before block ${fromBlock} (audit from an earlier block)`;
    if (used === false) d.message += '; its mintId is unused on chain: it was never minted';
  }
}

/** A settled x402 payment whose authorization was not used in range: used before it (read too little), or never. */
async function explainMissingPayments(
  client: ReturnType<typeof auditClient>,
  usdc: Address,
  ledger: LedgerFacts,
  found: Discrepancy[],
  fromBlock: bigint,
  toBlock: bigint,
) {
  for (const d of found) {
    if (d.kind !== 'x402_mismatch' || d.actual !== '0' || d.sequenceNumber === undefined) continue;
    const row = ledger.x402.find(
      (p) => p.taskId === d.taskId && p.sequenceNumber === d.sequenceNumber && p.status === 'settled',
    );
    if (!row) continue;
    const used = await isAuthorizationUsedAt(client, usdc, d.agent as Address, row.nonce as Hex, toBlock).catch(
      () => undefined,
    );
    if (used === true)
      d.message += `; the authorization is used or cancelled on chain by block ${toBlock}: if used before block ${fromBlock}, audit from an earlier block`;
    if (used === false) d.message += '; the authorization is unused on chain: this payment never moved any USDC';
  }
}
