import { and, eq, or } from 'drizzle-orm';
import { getDb, type DbExecutor } from './client';
import { x402Sales, type X402Sale } from './schema';

// Mint tasks sold over x402 (x402_sales in schema.ts); the selling itself is lib/x402-seller/.

export type NewX402Sale = {
  id: string;
  taskId: string;
  payer: string;
  paymentNonce: string;
  paymentId?: string | null;
  requestHash: string;
  taskTokenHash: string;
  x402Version: number;
};

class SaleTaken extends Error {}

/**
 * Inserts a task (`insertTask`, given the transaction) and its sale together: undefined, with
 * nothing written, when the payment or the payer's payment id already bought a task.
 */
export async function insertTaskWithSale<T extends { id: string }>(
  insertTask: (db: DbExecutor) => Promise<T>,
  sale: Omit<NewX402Sale, 'taskId'>,
): Promise<T | undefined> {
  try {
    return await getDb().transaction(async (tx) => {
      const task = await insertTask(tx);
      if (!(await insertX402Sale(tx, { ...sale, taskId: task.id }))) throw new SaleTaken();
      return task;
    });
  } catch (error) {
    if (error instanceof SaleTaken) return undefined;
    throw error;
  }
}

/**
 * Records the sale in the transaction that inserted its task. Undefined when the payment (payer
 * and nonce) or the payer's payment id already bought a task: the caller rolls its task back and
 * answers with that one. A concurrent insert of the same keys waits here for the other
 * transaction and then finds its row, so two requests can never both create a task.
 */
export async function insertX402Sale(db: DbExecutor, sale: NewX402Sale): Promise<X402Sale | undefined> {
  const [row] = await db
    .insert(x402Sales)
    .values({ ...sale, payer: sale.payer.toLowerCase(), paymentNonce: sale.paymentNonce.toLowerCase() })
    .onConflictDoNothing()
    .returning();
  return row;
}

/** The sale a payment made: by its EIP-3009 nonce, or by the payer's payment id when it has one. */
export async function getX402SaleByPayment({
  payer,
  paymentNonce,
  paymentId,
}: {
  payer: string;
  paymentNonce: string;
  paymentId?: string | null;
}): Promise<X402Sale | undefined> {
  const byNonce = eq(x402Sales.paymentNonce, paymentNonce.toLowerCase());
  const rows = await getDb()
    .select()
    .from(x402Sales)
    .where(
      and(
        eq(x402Sales.payer, payer.toLowerCase()),
        paymentId ? or(byNonce, eq(x402Sales.paymentId, paymentId)) : byNonce,
      ),
    )
    .limit(2);
  // Both keys matching different sales: the nonce names the payment itself, so it wins.
  return rows.find((r) => r.paymentNonce === paymentNonce.toLowerCase()) ?? rows[0];
}

export async function getX402SaleByTokenHash({ taskTokenHash }: { taskTokenHash: string }) {
  const [row] = await getDb().select().from(x402Sales).where(eq(x402Sales.taskTokenHash, taskTokenHash)).limit(1);
  return row;
}
