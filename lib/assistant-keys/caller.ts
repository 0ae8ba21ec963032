import type { Address } from 'viem';
import type { AssistantKeyScope } from './scopes';

/** Who is calling over MCP: the key's owner, what the key may do, and its daily cap (USDC base units). */
export type AssistantCaller = {
  keyId: string;
  keyName: string;
  userAddress: Address;
  scopes: ReadonlySet<AssistantKeyScope>;
  dailyCapUsdc: bigint;
};
