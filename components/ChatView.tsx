'use client';

import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { ChatInput } from './ChatInput';
import { ChatMessage } from './ChatMessage';
import { Suggestions } from './Suggestions';

type Props = { chatId: string; initialMessages: UIMessage[] };

export function ChatView({ chatId, initialMessages }: Props) {
  const { t } = useI18n();
  const [transport] = useState(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: '/api/ai-agent/chat',
        credentials: 'same-origin',
        // The server keeps the conversation; it needs only the new message (and the chat id).
        prepareSendMessagesRequest: ({ id, messages }) => ({ body: { id, messages: messages.slice(-1) } }),
      }),
  );
  const { messages, sendMessage, status, error, stop, regenerate, clearError } = useChat({
    id: chatId,
    messages: initialMessages,
    transport,
  });
  const busy = status === 'submitted' || status === 'streaming';
  const endRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [messages, status]);

  const send = (text: string) => {
    if (error) clearError();
    void sendMessage({ text });
  };

  return (
    <section className="chat" aria-labelledby="chat-title">
      <h1 id="chat-title" className="sr-only">
        {t('chat.title')}
      </h1>
      <div className="chat-log" role="log" aria-live="polite" aria-relevant="additions" data-testid="chat-log">
        {messages.length === 0 && <Suggestions onPick={send} />}
        {messages.map((m) => (
          <ChatMessage key={m.id} message={m} />
        ))}
        {status === 'submitted' && (
          <p className="muted thinking" data-testid="chat-thinking">
            {t('chat.thinking')}
          </p>
        )}
        {error && (
          <div className="notice notice-error" role="alert" data-testid="chat-error">
            <p>{t('chat.error', { message: readableChatError(error) })}</p>
            <button type="button" className="btn" onClick={() => void regenerate()}>
              {t('chat.retry')}
            </button>
          </div>
        )}
        <div ref={endRef} />
      </div>
      <ChatInput busy={busy} onSend={send} onStop={() => void stop()} />
    </section>
  );
}

/** The route answers errors as `{ error: { message } }`; the transport surfaces the raw body. */
function readableChatError(error: Error): string {
  try {
    const body = JSON.parse(error.message) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: use the message as is
  }
  return error.message;
}
