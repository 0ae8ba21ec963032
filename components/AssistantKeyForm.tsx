'use client';

import { useState, type FormEvent } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { assistantKeysApi, type AssistantKeyScope } from '@/lib/web/assistant-keys-api';

const SCOPES: AssistantKeyScope[] = ['read', 'create', 'cancel', 'withdraw'];
const LIFETIMES = [7, 30, 90, 365];

export function AssistantKeyForm({ onCreated }: { onCreated(token: string, name: string): void }) {
  const { t } = useI18n();
  const [name, setName] = useState('My assistant');
  const [scopes, setScopes] = useState<Set<AssistantKeyScope>>(new Set(['read', 'create']));
  const [cap, setCap] = useState('10');
  const [days, setDays] = useState(30);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const toggle = (scope: AssistantKeyScope) =>
    setScopes((current) => {
      const next = new Set(current);
      if (next.has(scope)) next.delete(scope);
      else next.add(scope);
      return next;
    });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await assistantKeysApi.create({
        name: name.trim(),
        scopes: SCOPES.filter((s) => scopes.has(s)),
        dailyCapUsdc: cap.trim(),
        expiresInDays: days,
      });
      onCreated(created.token, created.key.name);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card assistant-form" onSubmit={(e) => void submit(e)} data-testid="assistant-key-form">
      <h2>{t('assistant.newKey')}</h2>
      <label className="field">
        <span>{t('assistant.name')}</span>
        <input value={name} maxLength={60} onChange={(e) => setName(e.target.value)} data-testid="assistant-key-name" />
      </label>
      <fieldset className="field">
        <legend>{t('assistant.scopes')}</legend>
        {SCOPES.map((scope) => (
          <label key={scope} className="check">
            <input
              type="checkbox"
              checked={scopes.has(scope)}
              onChange={() => toggle(scope)}
              data-testid={`assistant-scope-${scope}`}
            />{' '}
            <strong>{scope}</strong> — {t(`assistant.scope.${scope}`)}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label className="field">
          <span>{t('assistant.cap')}</span>
          <input
            value={cap}
            inputMode="decimal"
            onChange={(e) => setCap(e.target.value)}
            data-testid="assistant-key-cap"
          />
        </label>
        <label className="field">
          <span>{t('assistant.expires')}</span>
          <select value={days} onChange={(e) => setDays(Number(e.target.value))} data-testid="assistant-key-days">
            {LIFETIMES.map((d) => (
              <option key={d} value={d}>
                {t('assistant.days', { days: String(d) })}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="hint">{t('assistant.capHint')}</p>
      <button
        type="submit"
        className="btn btn-primary"
        disabled={busy || scopes.size === 0}
        data-testid="assistant-key-create"
      >
        {busy ? t('assistant.creating') : t('assistant.create')}
      </button>
      {error && (
        <p className="error-text" role="alert" data-testid="assistant-key-error">
          {error}
        </p>
      )}
    </form>
  );
}
