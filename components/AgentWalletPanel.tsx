'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';
import { api } from '@/lib/web/api';
import { formatEth, formatUsdc, shortHex } from '@/lib/web/format';
import { CopyButton } from './CopyButton';
import { TxLink } from './TxLink';

export function AgentWalletPanel({ address }: { address: `0x${string}` }) {
  const { t, intlLocale } = useI18n();
  const queryClient = useQueryClient();
  const wallet = useQuery({
    queryKey: ['wallet', address],
    queryFn: () => api.wallet(address),
    refetchInterval: 15_000,
  });
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string; hash?: string } | null>(null);

  const withdraw = async () => {
    setBusy(true);
    setResult(null);
    try {
      const res = await api.withdraw(address);
      setResult({ ok: true, text: t('wallet.withdrawn', { hash: '' }), hash: res.txHash ?? undefined });
    } catch (e) {
      setResult({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
      void queryClient.invalidateQueries({ queryKey: ['wallet', address] });
    }
  };

  const data = wallet.data;
  const refundable = data ? BigInt(data.refundableUsdc) : 0n;
  return (
    <aside className="card wallet-panel" aria-labelledby="wallet-title" data-testid="wallet-panel">
      <h2 id="wallet-title">{t('wallet.title')}</h2>
      <p className="muted small">{t('wallet.explain')}</p>
      {wallet.isPending && <p className="muted">{t('wallet.loading')}</p>}
      {wallet.isError && <p className="error-text">{t('wallet.error', { message: wallet.error.message })}</p>}
      {data && (
        <>
          <div className="row">
            <code title={data.agentAddress} data-testid="wallet-address">
              {shortHex(data.agentAddress, 8, 6)}
            </code>
            <CopyButton value={data.agentAddress} label={t('wallet.copy')} />
          </div>
          <dl className="facts">
            <div>
              <dt>{t('wallet.usdc')}</dt>
              <dd data-testid="wallet-usdc">{formatUsdc(data.usdcBalance, intlLocale)}</dd>
            </div>
            <div>
              <dt>{t('wallet.eth')}</dt>
              <dd data-testid="wallet-eth">{formatEth(data.ethBalance, intlLocale)}</dd>
            </div>
            <div>
              <dt>{t('wallet.reserved')}</dt>
              <dd>{formatUsdc(data.reservedUsdc, intlLocale)}</dd>
            </div>
            <div>
              <dt>{t('wallet.refundable')}</dt>
              <dd data-testid="wallet-refundable">{formatUsdc(data.refundableUsdc, intlLocale)}</dd>
            </div>
          </dl>
          <button
            type="button"
            className="btn"
            data-testid="wallet-withdraw"
            disabled={busy || refundable === 0n}
            onClick={() => void withdraw()}
          >
            {busy ? t('wallet.withdrawing') : t('wallet.withdraw')}
          </button>
          {refundable === 0n && !result && <p className="muted small">{t('wallet.nothing')}</p>}
        </>
      )}
      {result && (
        <p className={result.ok ? 'ok-text' : 'error-text'} role="status" data-testid="wallet-result">
          {result.text} {result.hash && <TxLink hash={result.hash} />}
        </p>
      )}
    </aside>
  );
}
