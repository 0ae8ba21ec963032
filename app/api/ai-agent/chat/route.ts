import { createUIMessageStreamResponse } from 'ai';
import { startChatTurn } from '@/lib/ai/run-chat';
import { requireSession } from '@/lib/auth/session';
import { getConfig } from '@/lib/config';
import { AppError } from '@/lib/errors';
import { json, readJson, route } from '@/lib/http';
import { enforceRateLimits, ipRateLimit } from '@/lib/rate-limit';
import { chatRequestSchema, MAX_CHAT_BODY_BYTES, MAX_MESSAGE_CHARS, userTextOf } from './schema';

export const dynamic = 'force-dynamic';

const MINUTE = 60_000;
// Several users can share one IP (an office, a NAT), so the IP allowance is a multiple of the user's.
const IP_FACTOR = 4;

/**
 * One chat turn for the signed-in user. `{ message: "text" }` answers JSON `{ reply, task? }`;
 * the useChat form (`{ messages }`) answers an AI SDK UI message stream. Same agent behind both.
 */
export const POST = route(async (req) => {
  // The session first: a stranger's body is never read.
  const session = await requireSession(req);
  const body = await readJson(req, chatRequestSchema, 'chat', { maxBytes: MAX_CHAT_BODY_BYTES });
  if (body.userAddress && body.userAddress.toLowerCase() !== session.address.toLowerCase()) {
    throw new AppError('forbidden:chat', 'You can only chat as the signed-in user.');
  }
  const perMinute = getConfig().chatRateLimitPerMinute;
  await enforceRateLimits([
    { key: `chat:user:${session.address.toLowerCase()}`, limit: perMinute, windowMs: MINUTE },
    ipRateLimit('chat', req, { limit: perMinute * IP_FACTOR, windowMs: MINUTE }),
  ]);

  const text = userTextOf(body)?.trim();
  if (!text) throw new AppError('bad_request:chat', 'Send a message: { "message": "..." }.');
  if (text.length > MAX_MESSAGE_CHARS) {
    throw new AppError(
      'payload_too_large:chat',
      `The message is ${text.length} characters; the limit is ${MAX_MESSAGE_CHARS}.`,
    );
  }

  const turn = await startChatTurn({ userAddress: session.address }, text);
  if (typeof body.message !== 'string') return createUIMessageStreamResponse({ stream: turn.stream });

  await turn.stream.cancel();
  const end = await turn.done;
  if (end.failed && !end.reply)
    throw new AppError('unavailable:chat', 'The assistant is unavailable right now. Please try again.');
  return json({ reply: end.reply, ...(end.task ? { task: end.task } : {}) });
});
