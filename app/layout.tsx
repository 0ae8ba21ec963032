import '@rainbow-me/rainbowkit/styles.css';
import './globals.css';
import type { Metadata, Viewport } from 'next';
import { cookies, headers } from 'next/headers';
import type { ReactNode } from 'react';
import { Header } from '@/components/Header';
import { browserChain } from '@/lib/chain/clients';
import { getConfig } from '@/lib/config';
import { INTL_LOCALE, LOCALE_COOKIE, pickLocale } from '@/lib/i18n/locale';
import { Providers } from './providers';

export const metadata: Metadata = {
  title: 'AgentMint',
  description: 'Chat with an agent, sign once, and let it mint for you in paced batches.',
};

export const viewport: Viewport = { width: 'device-width', initialScale: 1, themeColor: '#0f1117' };

export default async function RootLayout({ children }: { children: ReactNode }) {
  const [headerList, cookieStore] = await Promise.all([headers(), cookies()]);
  const locale = pickLocale(cookieStore.get(LOCALE_COOKIE)?.value, headerList.get('accept-language'));
  const config = getConfig();
  const chainConfig = { chain: browserChain(), x402DemoUrl: config.x402.demoUrl ?? null };
  return (
    <html lang={INTL_LOCALE[locale]}>
      <body>
        <Providers chainConfig={chainConfig} cookie={headerList.get('cookie')} locale={locale}>
          <Header />
          <main className="main">{children}</main>
        </Providers>
      </body>
    </html>
  );
}
