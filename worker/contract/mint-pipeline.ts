import { batchSizeFor, feesOf, quoteFees, type FeeQuote } from '@/lib/chain/fees';
import { MintRevertError } from '@/lib/chain/revert-reasons';
import { getConfig } from '@/lib/config';
import { crashPoint } from '../crash-points';
import type { BatchStages, Collected } from './batch-stages';
import { topUpAgentGas } from './gas-top-up';
import { LedgerWriter, SETTLE_LINGER_MS } from './ledger';
import {
  batchGasLimit,
  unlockSigner,
  type BatchPlan,
  type SettledBatch,
  type SignedBatch,
  type TaskRuntime,
} from './runtime';

// With MINT_INTERVAL_MS=0 there is no pause between batches to wait out, so their stages
// overlap: while batch k is on the chain, batch k+1 is signed and written to the ledger, and
// it is broadcast as soon as batch k's broadcast has returned. Every batch keeps the rules of a
// single one (ledger before broadcast, consecutive nonces); batches are written, broadcast and
// settled in order, and a batch's settle rides with a later batch's ledger write (ledger.ts);
// at most MINT_PIPELINE_DEPTH batches are on the chain without an answer at any time.
//
// The same pipeline runs both ways of executing (their BatchStages, batch-stages.ts): one
// transaction per mint (single-mint-batch.ts), and one EIP-7702 transaction per batch
// (eip7702-batch.ts), where a batch takes one nonce (two when it installs the delegation) and
// the next batch's nonce follows from the signed one.
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
  // The balance is read at the latest block; what the unsettled batches may still spend is set
  // aside from it, here and in any read the top-up makes again.
  const inFlightWei = unsettledCost();
  const balance = await rt.client.getBalance({ address: rt.task.agentAddress });
  const topUp = await topUpAgentGas(rt, { balance, inFlightWei, neededWei, fees: feesOf(budget.quote) });
  const left = balance - inFlightWei;
  budget.gasLeft = (left > 0n ? left : 0n) + (topUp?.amountWei ?? 0n) - (budget.spent - spentBefore);
}

export async function runMintPipeline<B extends SignedBatch>(
  rt: TaskRuntime,
  first: BatchPlan,
  start: { quote: FeeQuote; balance: bigint },
  stages: BatchStages<B>,
): Promise<void> {
  const depth = getConfig().worker.pipelineDepth;
  rt.simulatedAt = undefined; // every run starts with a simulated batch (a retry after a revert, too)
  // The agent's ETH is re-read (and topped up) only when the budget runs low, not per batch.
  const budget: Budget = { quote: start.quote, quotedAt: Date.now(), gasLeft: start.balance, spent: 0n };
  // Settles ride with the next batch's ledger write (ledger.ts); writes go in order, each after
  // the ones before it have committed.
  const ledger = new LedgerWriter(rt, SETTLE_LINGER_MS);
  // The agent's key is unlocked once for the run, not once per batch (~0.15 ms a batch).
  rt.signer = await unlockSigner(rt, first.remainingCost);
  let failure: unknown;
  let stopped = false;
  const stop = (error?: unknown) => {
    stopped = true;
    if (error !== undefined) failure ??= error;
  };
  let lastSent: Promise<unknown> = Promise.resolve();
  let lastCollected: Promise<unknown> = Promise.resolve();
  const unsettled = new Map<Promise<void>, bigint>(); // the chain's answer → the most its batch can cost in gas
  const recorded: Promise<void>[] = [];
  let clean = true; // every batch written so far settled with all its mints confirmed
  let onChain = 0; // batches broadcast and not yet collected (the crash test's "two in flight")

  const collected = ({ settlement }: Collected) => {
    const [revert] = settlement.reverts;
    if (revert) return stop(new MintRevertError(revert.reason, revert.message));
    if (settlement.failed.length) ((clean = false), stop());
  };
  const recordedBatch = ({ progress }: SettledBatch, { failure: after }: Collected) => {
    if (after) return stop(after);
    if (!progress || progress.status !== 'processing' || progress.cancelRequested) stop();
  };

  let plan: BatchPlan | undefined = first;
  try {
    while (plan && !stopped && !rt.signal?.aborted) {
      let batch: B;
      try {
        batch = await stages.sign(rt, plan);
      } catch (error) {
        stop(error);
        break;
      }
      if (stopped) break; // an earlier batch failed meanwhile: this one was never written
      const written = ledger.write(batch);
      const sent = Promise.all([written, lastSent]).then(async () => {
        await stages.broadcast(rt, batch);
        if (++onChain >= 2) crashPoint('two-in-flight');
      });
      const answer = Promise.all([sent, lastCollected]).then(async () => {
        try {
          return await stages.collect(rt, batch);
        } finally {
          onChain--;
        }
      });
      [lastSent, lastCollected] = [sent, answer];
      // The chain's answer frees the batch's place in the pipeline; its settle is queued for the
      // ledger then, and committed with a later batch's write.
      const settled = answer
        .then(async (c) => {
          collected(c);
          recordedBatch(await ledger.settle(c.settlement, { size: batch.mints.length, started: batch.started }), c);
        })
        .catch((error: unknown) => {
          clean = false;
          stop(error);
        });
      recorded.push(settled);
      const tracked: Promise<void> = answer.then(
        () => void unsettled.delete(tracked),
        () => void unsettled.delete(tracked),
      );
      const maxCost = batch.gasLimit * plan.fees.maxFeePerGas;
      unsettled.set(tracked, maxCost);
      budget.gasLeft -= maxCost;
      budget.spent += maxCost;
      if (stages.settlesAlone?.(batch)) await settled;

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
    ledger.flush();
    await Promise.all(recorded);
  } finally {
    rt.signer = undefined;
  }
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
  const size = batchSizeFor(config, { remaining: rt.task.quantity - from + 1, baseFee: quote.baseFee });
  const sequences = Array.from({ length: size }, (_, i) => from + i);
  const fees = feesOf(quote);
  const needed = batchGasLimit(rt, size) * fees.maxFeePerGas;
  // Gas is refilled ahead: below a full pipeline's worth a top-up starts in the background, and
  // a batch waits for it only if the agent cannot pay for that batch now. A top-up waits for
  // its receipt (tens of ms on anvil), which in line would stall every batch behind it.
  // (A full pipeline, or what is left of the task if that is less: a small task needs no refill.)
  const ahead = Math.min(config.pipelineDepth * size, rt.task.quantity - from + 1);
  const window = batchGasLimit(rt, ahead, Math.ceil(ahead / size)) * fees.maxFeePerGas;
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
