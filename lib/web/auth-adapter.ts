import { createAuthenticationAdapter } from '@rainbow-me/rainbowkit';
import { createSiweMessage } from 'viem/siwe';
import { api } from './api';

/** RainbowKit's SIWE flow against /api/auth/*; `onChange` refreshes the session state. */
export function makeAuthAdapter(onChange: () => Promise<void> | void) {
  return createAuthenticationAdapter({
    getNonce: async () => (await api.nonce()).nonce,
    createMessage: ({ nonce, address, chainId }) =>
      createSiweMessage({
        domain: window.location.host,
        address,
        statement: 'Sign in to AgentMint.',
        uri: window.location.origin,
        version: '1',
        chainId,
        nonce,
      }),
    verify: async ({ message, signature }) => {
      try {
        await api.verify(message, signature);
        return true;
      } catch {
        return false;
      } finally {
        await onChange();
      }
    },
    signOut: async () => {
      await api.logout().catch(() => {});
      await onChange();
    },
  });
}
