import { z } from 'zod';
import { addressParam } from '@/lib/http';

// A chat message is an instruction, not a document: 4,000 characters is far more than any mint
// request needs, and it keeps what one message can put in a model's prompt (and bill) bounded.
export const MAX_MESSAGE_CHARS = 4000;
/**
 * One message and its envelope: 4000 characters at up to 6 bytes each once JSON-escaped, plus
 * ids. The page's useChat sends only the newest message; the history comes from the database.
 */
export const MAX_CHAT_BODY_BYTES = 32 * 1024;

const uiMessage = z.looseObject({
  id: z.string().optional(),
  role: z.enum(['user', 'assistant', 'system']),
  parts: z.array(z.looseObject({ type: z.string() })).max(200),
});

/**
 * `{ userAddress?, message: "text" }` — the JSON form for scripts and bots.
 * `{ messages: UIMessage[] }` (or `{ message: UIMessage }`) — the form `useChat` posts; only the
 * newest user message is read, the history comes from the database.
 */
export const chatRequestSchema = z.object({
  userAddress: addressParam.optional(),
  message: z.union([z.string().min(1, 'must not be empty'), uiMessage]).optional(),
  messages: z.array(uiMessage).max(1000).optional(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** The text of the newest user message of the useChat form. */
export function userTextOf(request: ChatRequest): string | undefined {
  if (typeof request.message === 'string') return request.message;
  const candidates = request.message ? [request.message] : (request.messages ?? []);
  const last = [...candidates].reverse().find((m) => m.role === 'user');
  if (!last) return undefined;
  return last.parts.flatMap((p) => (p.type === 'text' && typeof p.text === 'string' ? [p.text] : [])).join('\n');
}
