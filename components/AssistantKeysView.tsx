'use client';

import { SignedInGate } from './SignedInGate';
import { AssistantKeys } from './AssistantKeys';

/** "Connect an assistant": the signed-in user's assistant keys for MCP. */
export function AssistantKeysView() {
  return <SignedInGate>{(address) => <AssistantKeys key={address} />}</SignedInGate>;
}
