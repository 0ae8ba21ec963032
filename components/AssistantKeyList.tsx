'use client';

import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { assistantKeysApi, type AssistantKeyDto } from '@/lib/web/assistant-keys-api';
import { formatDateTime, formatUsdc } from '@/lib/web/format';

export function AssistantKeyList({ keys, onChanged }: { keys: AssistantKeyDto[]; onChanged(): void }) {
  const { t, intlLocale } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const revoke = async (id: string) => {
    setError(null);
    try {
      await assistantKeysApi.revoke(id);
    } catch (e) {
      setError((e as Error).message);
    }
    onChanged();
  };
  if (keys.length === 0) return <p className="muted">{t('assistant.none')}</p>;
  return (
    <div className="card">
      <h2>{t('assistant.keys')}</h2>
      <ul className="key-list" data-testid="assistant-key-list">
        {keys.map((key) => (
          <li
            key={key.id}
            className="key-row"
            data-testid="assistant-key-row"
            data-key-id={key.id}
            data-status={key.status}
          >
            <div className="row">
              <strong>{key.name}</strong> <code className="muted">{key.prefix}…</code>
              <span className={`badge badge-key-${key.status}`}>{t(`assistant.status.${key.status}`)}</span>
            </div>
            <p className="small muted">
              {t('assistant.keyFacts', {
                scopes: key.scopes.join(', '),
                spent: formatUsdc(key.spentLast24hUsdc, intlLocale),
                cap: formatUsdc(key.dailyCapUsdc, intlLocale),
                expires: formatDateTime(key.expiresAt, intlLocale),
              })}
            </p>
            <p className="small" data-testid="assistant-key-last-used">
              {t('assistant.lastUsed')}:{' '}
              {key.lastUsedAt ? formatDateTime(key.lastUsedAt, intlLocale) : t('assistant.never')}
            </p>
            {key.status === 'active' && (
              <button
                type="button"
                className="btn btn-small btn-danger"
                onClick={() => void revoke(key.id)}
                data-testid="assistant-key-revoke"
              >
                {t('assistant.revoke')}
              </button>
            )}
          </li>
        ))}
      </ul>
      {error && <p className="error-text">{error}</p>}
    </div>
  );
}
