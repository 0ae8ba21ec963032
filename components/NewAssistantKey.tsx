'use client';

import { useI18n } from '@/lib/i18n/context';
import { CopyButton } from './CopyButton';

/** The token, shown this once, with the config an assistant needs to use it. */
export function NewAssistantKey({ token, name, onDone }: { token: string; name: string; onDone(): void }) {
  const { t } = useI18n();
  const origin = typeof window === 'undefined' ? '' : window.location.origin;
  const http = JSON.stringify(
    { mcpServers: { agentmint: { url: `${origin}/mcp`, headers: { Authorization: `Bearer ${token}` } } } },
    null,
    2,
  );
  const stdio = JSON.stringify(
    {
      mcpServers: {
        agentmint: {
          command: 'npm',
          args: ['--silent', '--prefix', '/path/to/agent-mint', 'run', 'mcp'],
          env: { AGENTMINT_KEY: token },
        },
      },
    },
    null,
    2,
  );
  return (
    <div className="card notice-warn assistant-new" data-testid="assistant-key-created">
      <h2>{t('assistant.createdTitle', { name })}</h2>
      <p>{t('assistant.showOnce')}</p>
      <div className="row">
        <code className="hash" data-testid="assistant-key-token">
          {token}
        </code>
        <CopyButton value={token} label={t('assistant.copyKey')} />
      </div>
      <h3>{t('assistant.configHttp')}</h3>
      <pre className="snippet" data-testid="assistant-config-http">
        {http}
      </pre>
      <h3>{t('assistant.configStdio')}</h3>
      <pre className="snippet">{stdio}</pre>
      <button type="button" className="btn" onClick={onDone} data-testid="assistant-key-done">
        {t('assistant.done')}
      </button>
    </div>
  );
}
