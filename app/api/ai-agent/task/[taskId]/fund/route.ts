import { json, parseWith, readJson, route, uuidParam } from '@/lib/http';
import { enforceRateLimits, ipRateLimit } from '@/lib/rate-limit';
import { fundTask } from '@/lib/tasks/fund-task';
import { toTaskDto } from '@/lib/tasks/serialize';
import { fundBodySchema } from './schema';

export const dynamic = 'force-dynamic';

// A user funds a task once and may retry a few times; each attempt costs RPC calls.
const FUND_LIMIT = { limit: 30, windowMs: 60_000 };

/**
 * Pays for a task with the owner's EIP-3009 TransferWithAuthorization. No session needed: the
 * signature proves the owner. Posting the same authorization again answers with the same txHash.
 */
export const POST = route<{ taskId: string }>(async (req, { params }) => {
  const taskId = parseWith(uuidParam, (await params).taskId, 'bad_request:task');
  const { authorization, signature } = await readJson(req, fundBodySchema, 'fund');
  await enforceRateLimits([
    ipRateLimit('fund', req, FUND_LIMIT),
    { key: `fund:address:${authorization.from.toLowerCase()}`, ...FUND_LIMIT },
  ]);
  const { txHash, task } = await fundTask({ taskId, authorization, signature });
  return json({ success: true, txHash, task: toTaskDto(task) });
});
