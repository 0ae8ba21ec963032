import { and, eq } from 'drizzle-orm';
import { getDb } from './client';
import { aiAgentWallets, type AgentWallet } from './schema';

export async function getWalletByUser({ userAddress }: { userAddress: string }): Promise<AgentWallet | undefined> {
  const [row] = await getDb()
    .select()
    .from(aiAgentWallets)
    .where(eq(aiAgentWallets.userAddress, userAddress.toLowerCase()));
  return row;
}

export async function getWalletById({ id }: { id: string }): Promise<AgentWallet | undefined> {
  const [row] = await getDb().select().from(aiAgentWallets).where(eq(aiAgentWallets.id, id));
  return row;
}

/** Inserts unless the user already has a wallet; returns the row that won either way. */
export async function insertWalletIfAbsent(values: {
  userAddress: string;
  agentAddress: string;
  encryptedPrivateKey: string;
}): Promise<AgentWallet> {
  const [inserted] = await getDb()
    .insert(aiAgentWallets)
    .values({
      ...values,
      userAddress: values.userAddress.toLowerCase(),
      agentAddress: values.agentAddress.toLowerCase(),
    })
    .onConflictDoNothing({ target: aiAgentWallets.userAddress })
    .returning();
  if (inserted) return inserted;
  const existing = await getWalletByUser({ userAddress: values.userAddress });
  if (!existing) throw new Error('wallet insert conflicted but no wallet found');
  return existing;
}

export async function listWallets(): Promise<AgentWallet[]> {
  return getDb().select().from(aiAgentWallets);
}

export async function updateWalletEnvelope({ id, from, to }: { id: string; from: string; to: string }) {
  // Guarded on the old envelope so a concurrent rotation never overwrites a newer one.
  const rows = await getDb()
    .update(aiAgentWallets)
    .set({ encryptedPrivateKey: to })
    .where(and(eq(aiAgentWallets.id, id), eq(aiAgentWallets.encryptedPrivateKey, from)))
    .returning({ id: aiAgentWallets.id });
  return rows.length === 1;
}

export async function updateWalletBalance({ id, usdcBalance }: { id: string; usdcBalance: bigint }) {
  await getDb()
    .update(aiAgentWallets)
    .set({ usdcBalance: usdcBalance.toString(), lastBalanceCheck: new Date() })
    .where(eq(aiAgentWallets.id, id));
}
