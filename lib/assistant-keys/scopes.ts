import { ASSISTANT_KEY_SCOPES, type AssistantKeyScope } from '@/db/schema';

export { ASSISTANT_KEY_SCOPES, type AssistantKeyScope };

/** What each scope lets an assistant do (the keys page and the protected-resource metadata show it). */
export const SCOPE_DESCRIPTIONS: Record<AssistantKeyScope, string> = {
  read: 'see your tasks, their progress and your agent wallet',
  create: 'create mint tasks, which you still fund yourself with one signature in your wallet',
  cancel: 'cancel and retry your tasks',
  withdraw: "send your agent wallet's leftover USDC back to your own address (never anywhere else)",
};
