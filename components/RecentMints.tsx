'use client';

import Link from 'next/link';
import { useI18n } from '@/lib/i18n/context';
import type { MintDto } from '@/lib/web/api';
import { TxLink } from './TxLink';

const SHOWN = 5;

/** The newest mint transactions of a task, with a link to the full list. */
export function RecentMints({ taskId, mints }: { taskId: string; mints: MintDto[] | undefined }) {
  const { t } = useI18n();
  const withTx = (mints ?? []).filter((m) => m.txHash);
  if (withTx.length === 0) return null;
  const recent = withTx.slice(-SHOWN).reverse();
  return (
    <div className="recent-mints">
      <p className="small muted">{t('task.mints')}</p>
      <ul>
        {recent.map((m) => (
          <li key={m.sequenceNumber} className="small" data-testid="mint-tx" data-status={m.status}>
            #{m.sequenceNumber} <TxLink hash={m.txHash!} />
          </li>
        ))}
      </ul>
      {withTx.length > SHOWN && (
        <Link href={`/tasks/${taskId}`} className="small">
          +{withTx.length - SHOWN}
        </Link>
      )}
    </div>
  );
}
