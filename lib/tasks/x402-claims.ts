import type { Address } from 'viem';
import { listX402Claims, listX402ClaimsByTask, type X402Claim, type X402ClaimFilter } from '@/db/x402-claims';
import { readErc20 } from '../x402/onchain';
import { toX402ClaimDto, type ClaimTokenInfo, type X402ClaimDto } from './serialize';

// Claims as their readers get them (the task route, the ops command): the rows of
// ai_agent_x402_claims with the token's symbol and decimals, so "what arrived" reads as tokens,
// not base units. An x402 task may buy any ERC20, so these come from the chain; a token whose
// views cannot be read is shown in base units.

/** Symbol and decimals do not change: read once per token and process (bounded). */
const tokenCache = new Map<string, ClaimTokenInfo | undefined>();
const TOKEN_CACHE_SIZE = 500;

async function tokenInfo(address: string): Promise<ClaimTokenInfo | undefined> {
  const key = address.toLowerCase();
  if (tokenCache.has(key)) return tokenCache.get(key);
  const info = await readErc20(key as Address).catch(() => undefined);
  if (tokenCache.size >= TOKEN_CACHE_SIZE) tokenCache.clear();
  if (info) tokenCache.set(key, { symbol: info.symbol, decimals: info.decimals });
  return info && { symbol: info.symbol, decimals: info.decimals };
}

async function withTokens(claims: X402Claim[]): Promise<X402ClaimDto[]> {
  const tokens = new Map<string, ClaimTokenInfo | undefined>();
  for (const token of new Set(claims.map((c) => c.token))) tokens.set(token, await tokenInfo(token));
  return claims.map((c) => toX402ClaimDto(c, tokens.get(c.token)));
}

/** The task's claims, oldest first (none for a contract task). */
export async function listTaskClaims({ taskId }: { taskId: string }): Promise<X402ClaimDto[]> {
  return withTokens(await listX402ClaimsByTask({ taskId }));
}

/** Every user's claims, or those the filter names (user, task, seller's payee or host, status), newest first. */
export async function listClaims(filter: X402ClaimFilter): Promise<X402ClaimDto[]> {
  return withTokens(await listX402Claims(filter));
}
