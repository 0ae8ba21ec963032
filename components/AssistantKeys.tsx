'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { assistantKeysApi } from '@/lib/web/assistant-keys-api';
import { AssistantKeyForm } from './AssistantKeyForm';
import { AssistantKeyList } from './AssistantKeyList';
import { AssistantKeyUses } from './AssistantKeyUses';
import { NewAssistantKey } from './NewAssistantKey';

export function AssistantKeys() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const keys = useQuery({ queryKey: ['assistant-keys'], queryFn: assistantKeysApi.list, refetchInterval: 15_000 });
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ['assistant-keys'] });
  return (
    <section
      className="assistant"
      aria-labelledby="assistant-title"
      data-testid="assistant-keys"
      data-loaded={keys.isSuccess}
    >
      <h1 id="assistant-title">{t('assistant.title')}</h1>
      <p className="muted">{t('assistant.lead')}</p>
      {created ? (
        <NewAssistantKey token={created.token} name={created.name} onDone={() => setCreated(null)} />
      ) : (
        <AssistantKeyForm
          onCreated={(token, name) => {
            setCreated({ token, name });
            refresh();
          }}
        />
      )}
      {keys.isError && <p className="error-text">{keys.error.message}</p>}
      {keys.data && <AssistantKeyList keys={keys.data.keys} onChanged={refresh} />}
      {keys.data && <AssistantKeyUses uses={keys.data.uses} keys={keys.data.keys} />}
    </section>
  );
}
