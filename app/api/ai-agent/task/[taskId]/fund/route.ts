import { json, parseWith, readJson, route, uuidParam } from '@/lib/http';
import { enforceIpRateLimit, enforceRateLimit } from '@/lib/rate-limit';
import { fundTask } from '@/lib/tasks/fund-task';
import { toTaskDto } from '@/lib/tasks/serialize';
import { fundBodySchema } from './schema';

export const dynamic = 'force-dynamic';

// A user funds a task once and may retry a few times; each attempt costs RPC calls.
const FUND_LIMIT = { limit: 30, windowMs: 60_000 };

/**
 * Pays for a task with the owner's EIP-3009 TransferWithAuthorization. No session needed: the
 * signature proves the owner. Posting the same authorization again answers with the same txHash.
 * Limits: 30 a minute per client IP, and 30 a minute per payer counting only signed attempts.
 */
export const POST = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task');
  const { authorization, signature } = await readJson(req, fundBodySchema, 'fund');
  await enforceIpRateLimit('fund', req, FUND_LIMIT);
  const { txHash, task } = await fundTask({
    taskId,
    authorization,
    signature,
    // Per payer only once the signature is theirs: anyone can name an address, and counting
    // those requests would let a stranger use up its owner's attempts.
    onSignatureVerified: () => enforceRateLimit(`fund:address:${authorization.from.toLowerCase()}`, FUND_LIMIT),
  });
  return json({ success: true, txHash, task: toTaskDto(task) });
});
