'use client';

import { darkTheme, RainbowKitProvider } from '@rainbow-me/rainbowkit';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { cookieToInitialState, WagmiProvider } from 'wagmi';
import { z } from 'zod';
import { I18nProvider, useI18n } from '@/lib/i18n/context';
import type { Locale } from '@/lib/i18n/locale';
import { AppConfigProvider } from '@/lib/web/app-config';
import { SessionProvider } from '@/lib/web/session';
import { makeWagmiConfig, type ClientChainConfig } from '@/lib/web/wagmi';

// The page's CSP forbids eval (lib/security-headers.ts). Zod (inside the AI SDK and wallet
// libraries) would probe `Function('')` to pick a faster parser, and the browser reports each
// probe as a violation; jitless skips the probe. Set before anything parses.
z.config({ jitless: true });

type Props = { chainConfig: ClientChainConfig; cookie: string | null; locale: Locale; children: ReactNode };

export function Providers({ chainConfig, cookie, locale, children }: Props) {
  // Created once per browser tab (not per render, not shared between server requests).
  const [wagmiConfig] = useState(() => makeWagmiConfig(chainConfig));
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }),
  );
  const [initialState] = useState(() => cookieToInitialState(wagmiConfig, cookie));
  return (
    <I18nProvider initialLocale={locale}>
      <AppConfigProvider chainConfig={chainConfig}>
        <WagmiProvider config={wagmiConfig} initialState={initialState}>
          <QueryClientProvider client={queryClient}>
            <SessionProvider>
              <LocalizedRainbowKit>{children}</LocalizedRainbowKit>
            </SessionProvider>
          </QueryClientProvider>
        </WagmiProvider>
      </AppConfigProvider>
    </I18nProvider>
  );
}

function LocalizedRainbowKit({ children }: { children: ReactNode }) {
  const { locale } = useI18n();
  return (
    <RainbowKitProvider
      locale={locale === 'zh' ? 'zh-CN' : 'en-US'}
      theme={darkTheme({ accentColor: '#7c5cff' })}
      modalSize="compact"
    >
      {children}
    </RainbowKitProvider>
  );
}
