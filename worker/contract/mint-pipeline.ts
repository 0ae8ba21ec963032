import { batchSizeFor, feesOf, gweiToWei, quoteFees, type FeeQuote } from '@/lib/chain/fees';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import { topUpAgentGas } from './gas-top-up';
import type { BatchPlan, SettledBatch, SignedBatch, TaskRuntime } from './runtime';

// With MINT_INTERVAL_MS=0 there is no pause between batches to wait out, so their stages
// overlap: while batch k is on the chain, batch k+1 is signed and written to the ledger, and
// it is broadcast as soon as batch k's broadcast has returned. Every batch keeps the rules of a
// single one (ledger before broadcast, consecutive nonces, one settle transaction per batch);
// batches are written, broadcast and settled in order; at most MINT_PIPELINE_DEPTH batches are
// unsettled at any time.
//
// The same pipeline runs both ways of executing (their PipelineStages): one transaction per mint
// (single-mint-batch.ts), and one EIP-7702 transaction per batch (eip7702-batch.ts), where a batch takes one nonce (two when
// it installs the delegation) and the next batch's nonce follows from the signed one.
//
// On a node that mines whatever is pending (anvil, a sequencer) the overlap lets the chain
// pack many mints per block instead of a few: bench/mint.ts measures the difference.
//
// The pipeline takes no new batch after a cancel request, a failed or reverted mint, a
// shutdown, a lost lease or any error; it lets the batches already sent settle and hands back
// to the executor's turn loop, which reconciles whatever is still open before going on.

/** Fee quotes are reused for this long: maxFee = 2 × base fee covers several full blocks of rises. */
const FEE_REFRESH_MS = 1_000;

type Budget = {
  quote: FeeQuote;
  quotedAt: number;
  /** The agent's ETH as last read (plus any top-up), minus the most every batch sent since may cost. */
  gasLeft: bigint;
  /** What batches sent so far may cost at most, in all (so a refill knows what was sent while it ran). */
  spent: bigint;
  refill?: Promise<void>;
  refillFailure?: unknown;
};

async function refill(rt: TaskRuntime, budget: Budget, neededWei: bigint, unsettledCost: () => bigint) {
  const spentBefore = budget.spent;
  // The balance is read at the latest block; what the unsettled batches may still spend is set aside.
  const read = (await rt.client.getBalance({ address: rt.task.agentAddress })) - unsettledCost();
  const balance = read > 0n ? read : 0n;
  const topUp = await topUpAgentGas(rt, { balance, neededWei, fees: feesOf(budget.quote) });
  budget.gasLeft = balance + (topUp?.amountWei ?? 0n) - (budget.spent - spentBefore);
}

/** How one way of executing signs, writes, sends and settles a batch. */
export type PipelineStages<B extends SignedBatch> = {
  sign(rt: TaskRuntime, plan: BatchPlan): Promise<B>;
  write(rt: TaskRuntime, batch: B): Promise<void>;
  broadcast(rt: TaskRuntime, batch: B): Promise<void>;
  settle(rt: TaskRuntime, batch: B): Promise<SettledBatch>;
  /** The nonce the batch after this one takes. */
  nextNonce(batch: B): number;
  /** Whether this batch must settle before the next is signed (its nonce depends on how it went). */
  settlesAlone?(batch: B): boolean;
};

export async function runMintPipeline<B extends SignedBatch>(
  rt: TaskRuntime,
  first: BatchPlan,
  start: { quote: FeeQuote; balance: bigint },
  stages: PipelineStages<B>,
): Promise<void> {
  const depth = getConfig().worker.pipelineDepth;
  rt.simulatedAt = undefined; // every run starts with a simulated batch (a retry after a revert, too)
  // The agent's ETH is re-read (and topped up) only when the budget runs low, not per batch.
  const budget: Budget = { quote: start.quote, quotedAt: Date.now(), gasLeft: start.balance, spent: 0n };
  let failure: unknown;
  let stopped = false;
  const stop = (error?: unknown) => {
    stopped = true;
    if (error !== undefined) failure ??= error;
  };
  let lastWritten: Promise<unknown> = Promise.resolve();
  let lastSent: Promise<unknown> = Promise.resolve();
  let lastSettled: Promise<unknown> = Promise.resolve();
  const unsettled = new Map<Promise<void>, bigint>(); // settle → the most its batch can cost in gas
  let clean = true; // every batch written so far settled with all its mints confirmed
  let onChain = 0; // batches broadcast and not yet settled (the crash test's "two in flight")

  const settled = ({ settlement, progress }: SettledBatch) => {
    if (settlement.reverts.length)
      return stop(new MintRevertError(settlement.reverts[0]!.reason, settlement.reverts[0]!.message));
    if (settlement.failed.length || !progress || progress.status !== 'processing' || progress.cancelRequested) {
      if (settlement.failed.length) clean = false;
      stop();
    }
  };

  let plan: BatchPlan | undefined = first;
  while (plan && !stopped && !rt.signal?.aborted) {
    let batch;
    try {
      batch = await stages.sign(rt, plan);
    } catch (error) {
      stop(error);
      break;
    }
    if (stopped) break; // an earlier batch failed meanwhile: this one was never written
    // Ledger writes go in order, each after the one before has committed: two in flight at once
    // could commit out of order, and a crash between them would leave a later batch in the
    // ledger (and maybe in the node's pool) above an earlier one that never was, a nonce gap
    // no reconciliation can close. (The pipelined crash test found it.)
    const written = lastWritten.then(() => stages.write(rt, batch));
    const sent = Promise.all([written, lastSent]).then(async () => {
      await stages.broadcast(rt, batch);
      if (++onChain >= 2) crashPoint('two-in-flight');
    });
    const done = Promise.all([sent, lastSettled]).then(async () => {
      try {
        return await stages.settle(rt, batch);
      } finally {
        onChain--;
      }
    });
    [lastWritten, lastSent, lastSettled] = [written, sent, done];
    const tracked: Promise<void> = done
      .then(settled, (error) => {
        clean = false;
        stop(error);
      })
      .finally(() => unsettled.delete(tracked));
    const maxCost = rt.gasPerMint * plan.fees.maxFeePerGas * BigInt(plan.sequences.length);
    unsettled.set(tracked, maxCost);
    budget.gasLeft -= maxCost;
    budget.spent += maxCost;
    if (stages.settlesAlone?.(batch)) await tracked;

    // What the next batch needs (fees, gas) is read, when it is needed at all, while this one is on the wire.
    const next = nextPlan(rt, plan, stages.nextNonce(batch), budget, () =>
      [...unsettled.values()].reduce((a, b) => a + b, 0n),
    );
    next.catch(() => {});
    while (unsettled.size >= depth && !stopped) await Promise.race(unsettled.keys());
    try {
      plan = await next;
    } catch (error) {
      stop(error);
    }
  }
  await Promise.allSettled([...unsettled.keys(), budget.refill]);
  // The next turn may skip reading the ledger only if nothing this pipeline wrote is still open.
  if (!clean || failure !== undefined) rt.settled = undefined;
  if (failure !== undefined) throw failure;
}

/**
 * The batch after `previous`, or none when every mint is sent. The cancel flag needs no read
 * here: a batch only waits for room in the pipeline, and every settle that makes room returns it.
 */
async function nextPlan(
  rt: TaskRuntime,
  previous: BatchPlan,
  nonce: number,
  budget: Budget,
  unsettledCost: () => bigint,
): Promise<BatchPlan | undefined> {
  const config = getConfig().worker;
  const from = Math.max(...previous.sequences) + 1;
  if (from > rt.task.quantity) return undefined;
  if (Date.now() - budget.quotedAt > FEE_REFRESH_MS) {
    budget.quote = await quoteFees(rt.client, { maxFeeGwei: config.maxFeeGwei });
    budget.quotedAt = Date.now();
  }
  const { quote } = budget;
  const size = batchSizeFor({
    configured: config.batchSize,
    remaining: rt.task.quantity - from + 1,
    baseFee: quote.baseFee,
    highBaseFeeWei: gweiToWei(config.highBaseFeeGwei),
  });
  const sequences = Array.from({ length: size }, (_, i) => from + i);
  const fees = feesOf(quote);
  const needed = rt.gasPerMint * fees.maxFeePerGas * BigInt(size + 1);
  // Gas is refilled ahead: below a full pipeline's worth a top-up starts in the background, and
  // a batch waits for it only if the agent cannot pay for that batch now. A top-up waits for
  // its receipt (tens of ms on anvil), which in line would stall every batch behind it.
  // (A full pipeline, or what is left of the task if that is less: a small task needs no refill.)
  const ahead = Math.min(config.pipelineDepth * size, rt.task.quantity - from + 1);
  const window = rt.gasPerMint * fees.maxFeePerGas * BigInt(ahead + 1);
  if (budget.gasLeft < window) {
    budget.refill ??= refill(rt, budget, window, unsettledCost)
      .catch((error: unknown) => void (budget.refillFailure = error))
      .finally(() => (budget.refill = undefined));
  }
  if (budget.gasLeft < needed) await budget.refill;
  // A failed top-up (the node, or the task's gas cap) ends the pipeline like any error.
  if (budget.refillFailure !== undefined) throw budget.refillFailure;
  return { sequences, fees, nonce, remainingCost: rt.pricePerMint * BigInt(rt.task.quantity - rt.task.mintsCompleted) };
}
