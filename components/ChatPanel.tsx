'use client';

import { useQuery } from '@tanstack/react-query';
import type { UIMessage } from 'ai';
import { useI18n } from '@/lib/i18n/context';
import { api } from '@/lib/web/api';
import { ChatView } from './ChatView';

/** Loads the stored conversation first, so a reload shows where the user left off. */
export function ChatPanel({ address }: { address: `0x${string}` }) {
  const { t } = useI18n();
  const history = useQuery({
    queryKey: ['history', address],
    queryFn: () => api.history(address, 50),
    staleTime: Infinity,
    gcTime: 0,
  });
  if (history.isPending)
    return (
      <p className="muted" aria-busy="true">
        {t('common.loading')}
      </p>
    );
  const initial = (history.data ?? []).filter((m) => m.role !== 'system') as unknown as UIMessage[];
  return (
    <div className="chat-column">
      {history.isError && <p className="error-text">{t('chat.historyError')}</p>}
      <ChatView key={address} chatId={`chat-${address.toLowerCase()}`} initialMessages={initial} />
    </div>
  );
}
