'use client';

import { RainbowKitAuthenticationProvider, type AuthenticationStatus } from '@rainbow-me/rainbowkit';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useAccount } from 'wagmi';
import { api, type Session } from './api';
import { makeAuthAdapter } from './auth-adapter';

type SessionState = {
  status: AuthenticationStatus;
  session: Session | null;
  address: `0x${string}` | null;
  refresh(): Promise<void>;
  signOut(): Promise<void>;
  /** Revokes every session of this user, on every device (this one included). */
  signOutEverywhere(): Promise<void>;
};

const SessionContext = createContext<SessionState | null>(null);

/**
 * The SIWE session (httpOnly cookie, read through /api/auth/session) joined with the connected
 * wallet: signed in only when the cookie's address is the wallet's current account, so
 * switching accounts in the wallet asks for a new signature.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const { address: connected } = useAccount();
  const [session, setSession] = useState<Session | null>(null);
  const [loaded, setLoaded] = useState(false);

  const refresh = useCallback(async () => {
    const next = await api.session().catch(() => null);
    setSession(next && next.address ? next : null);
    setLoaded(true);
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh, connected]);

  const adapter = useMemo(() => makeAuthAdapter(refresh), [refresh]);
  const signOutEverywhere = useCallback(async () => {
    await api.logoutAll().catch(() => {});
    await refresh();
  }, [refresh]);
  const matches = !!session && !!connected && session.address.toLowerCase() === connected.toLowerCase();
  const status: AuthenticationStatus = !loaded ? 'loading' : matches ? 'authenticated' : 'unauthenticated';
  const value = useMemo(
    () => ({
      status,
      session: matches ? session : null,
      address: matches ? session!.address : null,
      refresh,
      signOut: adapter.signOut,
      signOutEverywhere,
    }),
    [status, matches, session, refresh, adapter, signOutEverywhere],
  );

  return (
    <SessionContext.Provider value={value}>
      <RainbowKitAuthenticationProvider adapter={adapter} status={status}>
        {children}
      </RainbowKitAuthenticationProvider>
    </SessionContext.Provider>
  );
}

export function useSession(): SessionState {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
