'use client';

import { useI18n } from '@/lib/i18n/context';
import type { MintDto } from '@/lib/web/api';
import { TxLink } from './TxLink';

export function MintList({ mints }: { mints: MintDto[] | undefined }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby="mints-title" className="mints">
      <h2 id="mints-title">{t('task.mints')}</h2>
      {!mints || mints.length === 0 ? (
        <p className="muted">{t('task.noMints')}</p>
      ) : (
        <ol className="mint-list" data-testid="mint-list">
          {mints.map((m) => (
            <li key={m.sequenceNumber} className="mint-row" data-testid="mint-row" data-status={m.status}>
              <span>{t('task.mintNumber', { n: m.sequenceNumber })}</span>
              <span className={`badge badge-mint-${m.status}`}>{m.status}</span>
              {m.txHash ? <TxLink hash={m.txHash} /> : <span className="muted">—</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
