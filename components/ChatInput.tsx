'use client';

import { useRef, useState, type KeyboardEvent } from 'react';
import { useI18n } from '@/lib/i18n/context';

type Props = { busy: boolean; onSend(text: string): void; onStop(): void };

/**
 * Enter sends, Shift+Enter breaks the line. While an IME composes (Chinese, Japanese…), Enter
 * confirms the candidate and must not send: `isComposing`, keyCode 229 and our own
 * composition flag cover Chrome, Firefox and Safari (which fires keydown after compositionend).
 */
export function ChatInput({ busy, onSend, onStop }: Props) {
  const { t } = useI18n();
  const [text, setText] = useState('');
  const composing = useRef(false);

  const submit = () => {
    const value = text.trim();
    if (!value || busy) return;
    onSend(value);
    setText('');
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== 'Enter' || e.shiftKey) return;
    if (e.nativeEvent.isComposing || composing.current || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  };

  return (
    <form
      className="chat-input"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <label htmlFor="chat-input" className="sr-only">
        {t('chat.inputLabel')}
      </label>
      <textarea
        id="chat-input"
        data-testid="chat-input"
        rows={2}
        value={text}
        placeholder={t('chat.placeholder')}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onCompositionStart={() => (composing.current = true)}
        onCompositionEnd={() => setTimeout(() => (composing.current = false), 0)}
      />
      {busy ? (
        <button type="button" className="btn" onClick={onStop} data-testid="chat-stop">
          {t('chat.stop')}
        </button>
      ) : (
        <button type="submit" className="btn btn-primary" disabled={!text.trim()} data-testid="chat-send">
          {t('chat.send')}
        </button>
      )}
    </form>
  );
}
