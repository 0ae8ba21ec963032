'use client';

import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { useSession } from '@/lib/web/session';

/**
 * Ends the SIWE session (revoked on the server); the wallet stays connected so signing in again
 * is one click. `everywhere` revokes every session of the user, on every device.
 */
export function SignOutButton({ everywhere = false }: { everywhere?: boolean }) {
  const { t } = useI18n();
  const { signOut, signOutEverywhere } = useSession();
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      className={everywhere ? 'btn btn-ghost btn-small' : 'btn btn-ghost'}
      data-testid={everywhere ? 'sign-out-everywhere' : 'sign-out'}
      title={everywhere ? t('auth.signOutEverywhereHint') : undefined}
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await (everywhere ? signOutEverywhere() : signOut());
        } finally {
          setBusy(false);
        }
      }}
    >
      {t(everywhere ? 'auth.signOutEverywhere' : 'auth.signOut')}
    </button>
  );
}
