import type { Hex, PublicClient, TransactionReceipt } from 'viem';
import { TransientChainError } from './revert-reasons';

/**
 * Waits for one receipt, polling at 2, 4, 8 … ms up to the client's interval. viem's
 * waitForTransactionReceipt sleeps a whole polling interval first: on anvil that added 50–100 ms
 * to every top-up and approval (~15% of a 200-mint task), for a receipt that existed after 1 ms.
 */
export async function waitForReceipt(client: PublicClient, hash: Hex, timeoutMs: number): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    try {
      return await client.getTransactionReceipt({ hash });
    } catch (error) {
      if ((error as Error).name !== 'TransactionReceiptNotFoundError') throw error;
    }
    if (Date.now() > deadline)
      throw new TransientChainError('timeout', `transaction ${hash} not mined within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, Math.min(client.pollingInterval, 2 * 2 ** round)));
  }
}
