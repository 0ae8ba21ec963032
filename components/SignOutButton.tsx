'use client';

import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { useSession } from '@/lib/web/session';

/** Ends the SIWE session; the wallet stays connected so signing in again is one click. */
export function SignOutButton() {
  const { t } = useI18n();
  const { signOut } = useSession();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-ghost"
      data-testid="sign-out"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await signOut();
        } finally {
          setBusy(false);
        }
      }}
    >
      {t('auth.signOut')}
    </button>
  );
}
