import { setTimeout as sleep } from 'node:timers/promises';
import { formatEther, getAddress, parseEther } from 'viem';
import { enqueueWebhookOnce } from '@/db/webhooks';
import { getOperatorAccount, getPublicClient } from '../chain/clients';
import { getConfig } from '../config';
import { getLogger } from '../log';
import { getMetrics } from '../metrics/registry';

// The operator pays every fund, top-up and (locally) signs mints; when it runs dry everything
// stalls. Checked every minute by each worker; the warn line is at most hourly per process and
// the `operator.low_balance` webhook at most hourly across all workers (db/webhooks.ts).

export const LOW_BALANCE_EVENT = 'operator.low_balance';
const ALERT_EVERY_MS = 60 * 60_000;
let lastLoggedAt = 0;

export type OperatorBalanceCheck = {
  address: string;
  balanceWei: bigint;
  thresholdWei: bigint;
  low: boolean;
  alerted: boolean;
};

export async function checkOperatorBalance({ now = Date.now() }: { now?: number } = {}): Promise<OperatorBalanceCheck> {
  const address = getOperatorAccount().address;
  const balanceWei = await getPublicClient().getBalance({ address });
  const thresholdWei = parseEther(getConfig().operatorMinEth);
  const low = balanceWei < thresholdWei;
  getMetrics().operatorLowBalance.set(low ? 1 : 0);
  if (!low) return { address, balanceWei, thresholdWei, low, alerted: false };

  const fields = {
    operator: getAddress(address),
    balanceEth: formatEther(balanceWei),
    thresholdEth: getConfig().operatorMinEth,
  };
  if (now - lastLoggedAt >= ALERT_EVERY_MS) {
    lastLoggedAt = now;
    getLogger().warn(fields, 'operator ETH balance is below OPERATOR_MIN_ETH; top it up');
  }
  let alerted = false;
  if (getConfig().webhook) {
    alerted = await enqueueWebhookOnce({
      event: LOW_BALANCE_EVENT,
      payload: { ...fields, balanceWei: balanceWei.toString(), thresholdWei: thresholdWei.toString() },
      withinMs: ALERT_EVERY_MS,
    });
  }
  return { address, balanceWei, thresholdWei, low, alerted };
}

/** Forgets the per-process log dedupe (tests). */
export const resetOperatorBalanceAlert = () => {
  lastLoggedAt = 0;
};

/** Checks every `intervalMs` until `signal` aborts; a failed check is logged and retried next time. */
export function startOperatorBalanceCheck({
  signal,
  intervalMs = 60_000,
}: { signal?: AbortSignal; intervalMs?: number } = {}) {
  const done = (async () => {
    while (!signal?.aborted) {
      try {
        await checkOperatorBalance();
      } catch (error) {
        getLogger().warn(
          { err: error instanceof Error ? error.message : String(error) },
          'operator balance check failed',
        );
      }
      await sleep(intervalMs, undefined, { signal }).catch(() => {});
    }
  })();
  return { done };
}
