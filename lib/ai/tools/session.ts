import type { Address } from 'viem';

/** Who the tools act for: always the signed-in user, never an address taken from a message. */
export type ChatSession = { userAddress: Address };
