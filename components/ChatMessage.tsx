'use client';

import type { UIMessage } from 'ai';
import { useI18n } from '@/lib/i18n/context';
import type { SellerWarning as SellerWarningDto, TaskDto } from '@/lib/web/api';
import { SellerWarning } from './SellerWarning';
import { TaskCard } from './TaskCard';

type ToolPart = { type: string; state?: string; output?: unknown; errorText?: string; toolCallId?: string };

const TASK_TOOLS = new Set([
  'tool-createMintTask',
  'tool-createX402Task',
  'tool-getTask',
  'tool-cancelTask',
  'tool-retryTask',
]);

export function ChatMessage({ message }: { message: UIMessage }) {
  const { t } = useI18n();
  const mine = message.role === 'user';
  return (
    <article
      className={`msg ${mine ? 'msg-user' : 'msg-agent'}`}
      data-testid={mine ? 'msg-user' : 'msg-agent'}
      data-role={message.role}
    >
      <span className="sr-only">{mine ? t('chat.you') : t('chat.agent')}:</span>
      {orderedParts(message.parts).map(({ part, i }) => {
        if (part.type === 'text') {
          return (
            <p key={i} className="msg-text">
              {part.text}
            </p>
          );
        }
        if (part.type.startsWith('tool-') || part.type === 'dynamic-tool')
          return <ToolResult key={i} part={part as ToolPart} />;
        return null;
      })}
    </article>
  );
}

/** The agent's words first, then the cards its tools produced (the reply describes the card). */
function orderedParts(parts: UIMessage['parts']) {
  const indexed = parts.map((part, i) => ({ part, i }));
  const isTool = (type: string) => type.startsWith('tool-') || type === 'dynamic-tool';
  return [...indexed.filter((p) => !isTool(p.part.type)), ...indexed.filter((p) => isTool(p.part.type))];
}

function ToolResult({ part }: { part: ToolPart }) {
  const { t } = useI18n();
  if (part.state === 'output-error')
    return <p className="error-text">{t('chat.toolError', { message: part.errorText ?? '' })}</p>;
  if (part.state !== 'output-available') {
    return (
      <p className="muted tool-running" aria-busy="true">
        {t('chat.toolRunning')}
      </p>
    );
  }
  const output = part.output as
    | {
        task?: TaskDto;
        token?: { name: string; symbol: string };
        quote?: { sellerWarning?: SellerWarningDto };
        sellerWarning?: SellerWarningDto;
        error?: unknown;
      }
    | undefined;
  if (output?.error) {
    const message =
      typeof output.error === 'string' ? output.error : ((output.error as { message?: string }).message ?? '');
    return <p className="error-text">{t('chat.toolError', { message })}</p>;
  }
  // A seller that took payment without delivering before: the warning stays beside the quote or the new task.
  const warning = output?.sellerWarning ?? output?.quote?.sellerWarning;
  const card = output?.task?.id && TASK_TOOLS.has(part.type) && <TaskCard task={output.task} token={output.token} />;
  if (!warning) return card || null;
  return (
    <>
      <SellerWarning warning={warning} />
      {card}
    </>
  );
}
