import { desc, eq } from 'drizzle-orm';
import { getDb } from './client';
import { aiAgentChats, type ChatMessage } from './schema';

export async function insertChatMessage(values: {
  id?: string;
  userAddress: string;
  role: 'user' | 'assistant';
  parts: unknown[];
  taskId?: string | null;
  createdAt?: Date;
}): Promise<ChatMessage> {
  const [row] = await getDb()
    .insert(aiAgentChats)
    .values({ ...values, userAddress: values.userAddress.toLowerCase(), taskId: values.taskId ?? null })
    .returning();
  return row!;
}

/** The user's latest `limit` messages, returned oldest first (the order a chat shows them). */
export async function listChatMessagesByUser({
  userAddress,
  limit,
}: {
  userAddress: string;
  limit: number;
}): Promise<ChatMessage[]> {
  const rows = await getDb()
    .select()
    .from(aiAgentChats)
    .where(eq(aiAgentChats.userAddress, userAddress.toLowerCase()))
    .orderBy(desc(aiAgentChats.createdAt), desc(aiAgentChats.id))
    .limit(limit);
  return rows.reverse();
}
