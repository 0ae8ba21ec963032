'use client';

import Link from 'next/link';
import { useI18n } from '@/lib/i18n/context';
import type { AssistantKeyDto, AssistantKeyUseDto } from '@/lib/web/assistant-keys-api';
import { formatDateTime } from '@/lib/web/format';

/** Every use of the user's keys, newest first: what each assistant did, or was refused. */
export function AssistantKeyUses({ uses, keys }: { uses: AssistantKeyUseDto[]; keys: AssistantKeyDto[] }) {
  const { t, intlLocale } = useI18n();
  if (uses.length === 0) return null;
  const nameOf = new Map(keys.map((k) => [k.id, k.name]));
  return (
    <div className="card">
      <h2>{t('assistant.uses')}</h2>
      <ul className="use-list" data-testid="assistant-key-uses">
        {uses.map((use, i) => (
          <li key={`${use.at}-${i}`} className="small" data-testid="assistant-key-use" data-outcome={use.outcome}>
            {formatDateTime(use.at, intlLocale)} · {nameOf.get(use.keyId) ?? use.keyId.slice(0, 8)} ·{' '}
            <code>{use.action}</code> ·{' '}
            <span className={use.outcome === 'ok' ? 'ok-text' : 'error-text'}>
              {use.outcome}
              {use.errorCode ? ` (${use.errorCode})` : ''}
            </span>
            {use.taskId && (
              <>
                {' · '}
                <Link href={`/tasks/${use.taskId}`}>{t('assistant.task')}</Link>
              </>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
