import { getConfig } from '@/lib/config';
import { TransientChainError } from '@/lib/chain/revert-reasons';
import { assertLease } from '../fence';
import { broadcastRaw } from '../rpc';
import { sleep } from '../sleep';
import { isMintIdUsed, receiptOrNull, type CollectContext, type MintOutcome, type PendingMint } from './mint-chain';
import { replaceStuck } from './replace-stuck';

// Waits for a set of sent (or maybe-sent) mints to settle, the way a transaction engine does.
// For a mint without a receipt it reads the account nonce, THEN the receipt again, then
// usedMintIds. The order matters: a nonce that had moved past a mint before we looked means
// that mint's fate was already on chain when we read its receipt, so "no receipt, mintId
// unused" is final (replaced or dropped) and the same mintId may be re-signed.

// A mint without a receipt is sent again (identical bytes: a node that holds it ignores the copy)
// once this long has passed since the last send: half a block on Base (2 s blocks), so a node that
// lost the transaction has it back within the block, and a slow node is asked once a second.
const REBROADCAST_AFTER_MS = 1_000;
// No block for this long means a chain that mines only on arrival (anvil's automine), where a
// pending mint can wait for ever: each waiting mint is replaced once (seen as rare 60 s stalls
// in pipelined tests under load). Base makes a block every 2 s, so a live chain never gets here.
const STILL_CHAIN_MS = 3_000;
// The next mint held by the node without counting it pending (anvil's queued-but-ready bug,
// foundry issue 10122) is replaced after this long instead of STILL_CHAIN_MS: one replacement
// frees it, and 500 ms is many blocks on a chain that is mining.
const QUEUED_REPLACE_MS = 500;
// Stuck takes STUCK_AFTER_BLOCKS blocks AND this long: on anvil 20 tasks' own sends made blocks
// so fast that blocks alone set off 1,070 needless replacements for 400 mints (now none).
const STUCK_MIN_MS = 1_000;
// A fresh send's missing receipt is only polled again, without reading the account's nonce, for
// this long: anvil mines within a few ms (tens with 20 tasks at once), and what the nonce shows
// (dropped, replaced, stuck, anvil's queued bug) is acted on only after 500 ms or more anyway.
// Reading it on every early miss cost three requests (block number, two nonces) in most batches
// on anvil, whose first poll comes before the mining (bench:mint -- --profile counted them).
const NONCE_CHECK_AFTER_MS = 100;

/** Collecting ran out of time: `outcomes` holds what was learned for the other mints (settle it, do not drop it). */
export class ReceiptTimeoutError extends TransientChainError {
  constructor(
    message: string,
    readonly outcomes: MintOutcome[],
  ) {
    super('timeout', message);
  }
}

export async function collectMints(
  ctx: CollectContext,
  mints: PendingMint[],
  { rebroadcast = false } = {},
): Promise<MintOutcome[]> {
  const config = getConfig().worker;
  const { client, task } = ctx;
  const outcomes: MintOutcome[] = [];
  let pending = [...mints];
  const started = Date.now();
  const deadline = started + config.receiptTimeoutMs;
  let lastSent = Date.now();
  let lastBlock: bigint | undefined;
  let lastBlockAt = Date.now();
  let nonceSeen: number | undefined;
  let nonceMovedAt: bigint | undefined;
  let nonceMovedAtMs = Date.now();
  const receiptsOf = (list: PendingMint[]) =>
    Promise.all(list.map((m) => Promise.all(m.hashes.map((hash) => receiptOrNull(client, hash, m.batch)))));
  for (let round = 0; pending.length > 0; round++) {
    // Receipts first: in the usual case they are all there and the round costs one request.
    const first = await receiptsOf(pending);
    const missing: PendingMint[] = [];
    for (const [i, mint] of pending.entries()) {
      const receipt = first[i]!.find((r) => r !== null);
      if (receipt) outcomes.push({ kind: 'receipt', mint, receipt });
      else missing.push(mint);
    }
    if (missing.length === 0) break;
    // Just sent: poll the receipts again before asking the chain anything else. (The reconciler's
    // mints, rebroadcast, may be long gone: it looks at once.)
    if (!rebroadcast && Date.now() - started < NONCE_CHECK_AFTER_MS) {
      pending = missing;
      await sleep(Math.min(client.pollingInterval, 2 * 2 ** round), ctx.signal);
      continue;
    }
    // For the rest: the account's nonce as of the latest block, then their receipts again, so
    // "no receipt although the nonce moved on" is a fact about the chain and not a race with
    // the next block. The nonce is read at that block's number, not at 'latest': anvil answers
    // 'latest' from the state of a block it is still storing, whose receipts are not yet
    // readable, and a mint mined there looked dropped (and was re-signed, and reverted).
    const block = await client.getBlockNumber({ cacheTime: 0 });
    const [latestNonce, pendingNonce] = await Promise.all([
      client.getTransactionCount({ address: task.agentAddress, blockNumber: block }),
      client.getTransactionCount({ address: task.agentAddress, blockTag: 'pending' }),
    ]);
    const passed = missing.filter((m) => latestNonce > m.nonce);
    const again = await receiptsOf(passed);
    const unresolved = missing.filter((m) => latestNonce <= m.nonce);
    for (const [i, mint] of passed.entries()) {
      const receipt = again[i]!.find((r) => r !== null);
      if (receipt) outcomes.push({ kind: 'receipt', mint, receipt });
      else if (await isMintIdUsed(ctx, mint.mintId)) outcomes.push({ kind: 'used', mint });
      // "Dropped" sends the mintId to be signed again, so it must hold on a second look, one
      // poll later: a node can answer for a block whose receipts it has not finished storing.
      else if (mint.droppedOnce) outcomes.push({ kind: 'dropped', mint });
      else ((mint.droppedOnce = true), unresolved.push(mint));
    }
    pending = unresolved;
    if (pending.length === 0) break;
    // Sent again (identical bytes; "already known" is fine) on the reconciler's first look, and
    // whenever they have waited a second more without a receipt: a node that lost or never
    // took a transaction gets it back, and one that holds it does nothing.
    if (round === 0 && rebroadcast) {
      await assertLease(ctx);
      await broadcastRaw(
        client,
        pending.map((m) => m.raw),
      );
    } else if (Date.now() - lastSent > REBROADCAST_AFTER_MS) {
      await assertLease(ctx);
      await broadcastRaw(
        client,
        pending.filter((m) => !m.droppedOnce).map((m) => m.raw),
      ).catch((error) => ctx.reporter.error(ctx.task, error, 'rebroadcast not accepted'));
      lastSent = Date.now();
    }
    // Stuck means STUCK_AFTER_BLOCKS blocks without the account's nonce moving. Blocks alone
    // are not enough: a node that mines one transaction per block (anvil) works through a
    // batch over as many blocks, and the tail of a healthy batch would look stuck.
    // A chain that mines only when a transaction arrives (anvil's automine) can also leave one
    // pending with no block coming at all; after STILL_CHAIN_MS without a block, each waiting
    // mint is replaced once (a new arrival, so such a node mines). A live chain never gets here.
    if (nonceSeen === undefined || latestNonce > nonceSeen)
      [nonceSeen, nonceMovedAt, nonceMovedAtMs] = [latestNonce, block, Date.now()];
    if (lastBlock === undefined || block > lastBlock) [lastBlock, lastBlockAt] = [block, Date.now()];
    // And a node can hold the very next mint without counting it pending: anvil's pool leaves a
    // ready transaction "queued" now and then when several senders send at once (foundry issue
    // 10122), until something new arrives from that sender. Seen so for QUEUED_REPLACE_MS, it is
    // replaced once, instead of after STUCK_AFTER_BLOCKS other blocks or STILL_CHAIN_MS.
    const still = Date.now() - lastBlockAt > STILL_CHAIN_MS;
    for (const mint of pending) {
      if (mint.droppedOnce) continue; // its nonce is used; nothing to replace
      mint.sentBlock ??= block;
      mint.sentAt ??= Date.now();
      const waitingSince = mint.sentBlock > nonceMovedAt! ? mint.sentBlock : nonceMovedAt!;
      // Blocks and time both: where blocks come on arrival (anvil), many tasks' own sends and
      // replacements make blocks by the dozen per second, and blocks alone once set off a storm
      // of replacements (1,070 for 400 mints of 20 tasks), each one more block for the others.
      const waitedMs = Date.now() - Math.max(mint.sentAt, nonceMovedAtMs);
      const stuck = block - waitingSince >= BigInt(config.stuckAfterBlocks) && waitedMs >= STUCK_MIN_MS;
      const queuedHead = mint.nonce === latestNonce && pendingNonce <= latestNonce;
      mint.queuedSince = queuedHead ? (mint.queuedSince ?? Date.now()) : undefined;
      const queued = queuedHead && Date.now() - mint.queuedSince! >= QUEUED_REPLACE_MS;
      if (stuck || ((still || queued) && mint.hashes.length === 1)) await replaceStuck(ctx, mint, block);
    }
    if (Date.now() > deadline) {
      throw new ReceiptTimeoutError(
        `${pending.length} mint(s) not mined within RECEIPT_TIMEOUT_MS (${config.receiptTimeoutMs} ms)`,
        outcomes,
      );
    }
    // Receipts usually exist a moment after the send (anvil mines in ~1 ms; Base in ≤ 2 s), so
    // poll at 2, 4, 8, 16 ms first, then at the client's interval: on anvil this took a
    // 10-mint batch from ~60 ms to ~15 ms, and costs Base four extra cheap calls per batch.
    await sleep(Math.min(client.pollingInterval, 2 * 2 ** round), ctx.signal);
  }
  return outcomes;
}
