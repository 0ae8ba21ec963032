'use client';

import { useI18n } from '@/lib/i18n/context';
import type { TaskDto } from '@/lib/web/api';
import { formatCount, formatUsdc, shortHex } from '@/lib/web/format';
import { useTokenInfo } from '@/lib/web/use-tokens';
import { CopyButton } from './CopyButton';

/**
 * Route (contract, or the x402 endpoint's host), token, quantity, unit price, total, where the
 * tokens go when that is not the user (an x402 sale's recipient) and agent wallet of a task.
 */
export function TaskFacts({ task, token: known }: { task: TaskDto; token?: { name: string; symbol: string } }) {
  const { t, intlLocale } = useI18n();
  const token = useTokenInfo(task.tokenAddress) ?? known;
  return (
    <dl className="facts">
      <div className="facts-wide">
        <dt>{t('task.route')}</dt>
        <dd data-testid="task-route" data-route={task.route}>
          {task.route === 'x402' && task.endpoint
            ? t('task.routeX402', { host: task.endpoint.host, version: String(task.endpoint.version) })
            : t('task.routeContract')}
        </dd>
      </div>
      <div>
        <dt>{t('task.token')}</dt>
        <dd data-testid="task-token" title={task.tokenAddress}>
          {token ? `${token.symbol} · ${token.name}` : shortHex(task.tokenAddress)}
        </dd>
      </div>
      <div>
        <dt>{t('task.quantity')}</dt>
        <dd data-testid="task-quantity">{formatCount(task.quantity, intlLocale)}</dd>
      </div>
      <div>
        <dt>{t('task.unitPrice')}</dt>
        <dd data-testid="task-unit-price">{formatUsdc(task.pricePerMint, intlLocale)}</dd>
      </div>
      <div>
        <dt>{t('task.total')}</dt>
        <dd data-testid="task-total">{formatUsdc(task.totalCost, intlLocale)}</dd>
      </div>
      {task.recipient && (
        <div className="facts-wide">
          <dt>{t('task.recipient')}</dt>
          <dd className="row">
            <code title={task.recipient} data-testid="task-recipient">
              {shortHex(task.recipient, 8, 6)}
            </code>
            <CopyButton value={task.recipient} label={t('wallet.copy')} />
          </dd>
        </div>
      )}
      <div className="facts-wide">
        <dt>{t('task.agentWallet')}</dt>
        <dd className="row">
          <code title={task.agentAddress} data-testid="task-agent">
            {shortHex(task.agentAddress, 8, 6)}
          </code>
          <CopyButton value={task.agentAddress} label={t('wallet.copy')} />
        </dd>
      </div>
    </dl>
  );
}
