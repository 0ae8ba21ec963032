'use client';

import { AgentWalletPanel } from './AgentWalletPanel';
import { ChatPanel } from './ChatPanel';
import { SignedInGate } from './SignedInGate';

export function HomeView() {
  return (
    <SignedInGate>
      {(address) => (
        <div className="home-grid">
          <ChatPanel address={address} />
          <AgentWalletPanel address={address} />
        </div>
      )}
    </SignedInGate>
  );
}
