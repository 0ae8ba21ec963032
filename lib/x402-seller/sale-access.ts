import { getX402SaleByTokenHash } from '@/db/x402-sales';
import { bearerToken } from '../assistant-keys/tokens';
import { AppError } from '../errors';
import { hashTaskToken, looksLikeTaskToken } from './task-token';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="agentmint-x402-task"' };

/**
 * The payer of a task bought over x402, from the task token its purchase answered with
 * (`Authorization: Bearer amt_…`): what the status and cancel routes act as, without a session.
 * No token or a malformed one → 401; a token of another task → 404, exactly like a missing task.
 */
export async function requireSoldTaskPayer(req: Request, taskId: string): Promise<string> {
  const token = bearerToken(req.headers.get('authorization'));
  if (!token || !looksLikeTaskToken(token)) {
    throw new AppError(
      'unauthorized:x402_task',
      token === undefined
        ? 'Send the task token your purchase answered with: Authorization: Bearer amt_…'
        : 'The Authorization header must be Bearer followed by the task token (amt_…).',
      { headers: CHALLENGE },
    );
  }
  const sale = await getX402SaleByTokenHash({ taskTokenHash: hashTaskToken(token) });
  if (!sale) {
    throw new AppError('unauthorized:x402_task', 'This task token is not valid.', {
      headers: { 'WWW-Authenticate': `${CHALLENGE['WWW-Authenticate']}, error="invalid_token"` },
    });
  }
  if (sale.taskId !== taskId) throw new AppError('not_found:task', 'No such task.');
  return sale.payer;
}
