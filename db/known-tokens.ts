import { and, eq } from 'drizzle-orm';
import { connect, getDb, type DbExecutor } from './client';
import { knownTokens, type KnownToken, type KnownTokenSource } from './schema';

export type KnownTokenInput = { address: string; name?: string; symbol?: string };

/** Records tokens AgentMint may mint; a token already known keeps its first source. */
export async function recordKnownTokens(
  { chainId, tokens, source }: { chainId: number; tokens: KnownTokenInput[]; source: KnownTokenSource },
  db: DbExecutor = getDb(),
) {
  if (tokens.length === 0) return;
  await db
    .insert(knownTokens)
    .values(tokens.map((t) => ({ chainId, address: t.address.toLowerCase(), source, name: t.name, symbol: t.symbol })))
    .onConflictDoNothing();
}

/**
 * Same, over a connection of its own: for the scripts that deploy (the local stack, the test
 * stack, `deploy:token`), which may run before or outside any process's pool.
 */
export async function recordKnownTokensAt(url: string, input: Parameters<typeof recordKnownTokens>[0]) {
  const { sql, db } = connect(url, 1);
  try {
    await recordKnownTokens(input, db);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function getKnownToken({
  chainId,
  address,
}: {
  chainId: number;
  address: string;
}): Promise<KnownToken | undefined> {
  const [row] = await getDb()
    .select()
    .from(knownTokens)
    .where(and(eq(knownTokens.chainId, chainId), eq(knownTokens.address, address.toLowerCase())));
  return row;
}

export async function listKnownTokens({ chainId }: { chainId: number }): Promise<KnownToken[]> {
  return getDb().select().from(knownTokens).where(eq(knownTokens.chainId, chainId)).orderBy(knownTokens.createdAt);
}

export async function deleteKnownToken({ chainId, address }: { chainId: number; address: string }): Promise<boolean> {
  const rows = await getDb()
    .delete(knownTokens)
    .where(and(eq(knownTokens.chainId, chainId), eq(knownTokens.address, address.toLowerCase())))
    .returning({ address: knownTokens.address });
  return rows.length > 0;
}
