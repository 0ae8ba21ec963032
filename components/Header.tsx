'use client';

import { ConnectButton } from '@rainbow-me/rainbowkit';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useI18n } from '@/lib/i18n/context';
import { useSession } from '@/lib/web/session';
import { LanguageSwitch } from './LanguageSwitch';
import { SignOutButton } from './SignOutButton';

export function Header() {
  const { t } = useI18n();
  const { status } = useSession();
  const pathname = usePathname();
  const signedIn = status === 'authenticated';
  const link = (href: string, label: string, id: string) => (
    <Link
      href={href}
      className="nav-link"
      aria-current={pathname === href ? 'page' : undefined}
      data-testid={`nav-${id}`}
    >
      {label}
    </Link>
  );
  return (
    <header className="header">
      <Link href="/" className="brand" aria-label="AgentMint">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>{' '}
        AgentMint
      </Link>
      {signedIn && (
        <nav className="nav" aria-label="Main">
          {link('/', t('nav.chat'), 'chat')}
          {link('/tasks', t('nav.tasks'), 'tasks')}
          {link('/assistant', t('nav.assistant'), 'assistant')}
        </nav>
      )}
      <div className="header-actions">
        <LanguageSwitch />
        <ConnectButton
          accountStatus={{ smallScreen: 'avatar', largeScreen: 'address' }}
          chainStatus="icon"
          showBalance={false}
        />
        {signedIn && <SignOutButton />}
        {signedIn && <SignOutButton everywhere />}
      </div>
    </header>
  );
}
