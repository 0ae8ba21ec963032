'use client';

import { useQuery } from '@tanstack/react-query';
import { useI18n } from '@/lib/i18n/context';
import { api, type X402ClaimDto } from '@/lib/web/api';
import { formatAmount, formatUsdc, shortHex } from '@/lib/web/format';
import { CopyButton } from './CopyButton';
import { TxLink } from './TxLink';

/** Characters of the seller's answer the card shows (the claim keeps up to 1,000). */
const ANSWER_SHOWN = 280;

/**
 * The claims of an x402 task: each payment a seller took without delivering what it sold — what
 * was paid, to whom, the settlement transaction, what arrived and what the seller answered — and
 * what the user can do about the rest of the task's money (withdraw it from the agent wallet).
 * The seller's answer is a stranger's text: shown as text, never as markup or a link.
 */
export function X402Claims({
  claims,
  userAddress,
  ended,
}: {
  claims: X402ClaimDto[] | undefined;
  userAddress: string;
  ended: boolean;
}) {
  const { t, intlLocale } = useI18n();
  const open = (claims ?? []).filter((c) => c.status === 'open');
  const wallet = useQuery({
    queryKey: ['wallet', userAddress],
    queryFn: () => api.wallet(userAddress),
    enabled: ended && open.length > 0,
  });
  if (!claims || claims.length === 0) return null;
  const arrived = (c: X402ClaimDto) =>
    c.arrivedAmount === '0'
      ? t('claim.nothingArrived')
      : c.tokenDecimals === null
        ? t('claim.arrivedUnits', { amount: c.arrivedAmount })
        : `${formatAmount(c.arrivedAmount, c.tokenDecimals, intlLocale)} ${c.tokenSymbol ?? ''}`.trim();
  return (
    <section
      className={`notice ${open.length ? 'notice-warn' : ''} claims`}
      data-testid="x402-claims"
      aria-labelledby="claims-title"
    >
      <h4 id="claims-title">{open.length ? t('claim.title') : t('claim.titleDelivered')}</h4>
      <p className="small">{open.length ? t('claim.explain', { host: claims[0]!.host }) : t('claim.deliveredLater')}</p>
      {claims.map((c) => (
        <dl key={c.id} className="facts" data-testid="x402-claim" data-status={c.status}>
          <div>
            <dt>{t('claim.paid')}</dt>
            <dd data-testid="claim-amount">
              {formatUsdc(c.amount, intlLocale)} · {t('task.mintNumber', { n: c.sequenceNumber })}
            </dd>
          </div>
          <div>
            <dt>{t('claim.status')}</dt>
            <dd data-testid="claim-status">{c.status === 'open' ? t('claim.open') : t('claim.delivered')}</dd>
          </div>
          <div className="facts-wide">
            <dt>{t('claim.payee')}</dt>
            <dd className="row">
              <code title={c.payTo} data-testid="claim-payee">
                {shortHex(c.payTo, 8, 6)}
              </code>
              <CopyButton value={c.payTo} label={t('wallet.copy')} />
            </dd>
          </div>
          <div className="facts-wide">
            <dt>{t('claim.settlement')}</dt>
            <dd data-testid="claim-settlement">
              {c.settlementTxHash ? <TxLink hash={c.settlementTxHash} /> : t('claim.noSettlementTx')}
            </dd>
          </div>
          <div className="facts-wide">
            <dt>{t('claim.arrived')}</dt>
            <dd data-testid="claim-arrived">{arrived(c)}</dd>
          </div>
          {c.sellerAnswer && (
            <div className="facts-wide">
              <dt>{t('claim.answer', { status: c.httpStatus ?? '—' })}</dt>
              <dd>
                <blockquote className="claim-answer" data-testid="claim-answer">
                  {c.sellerAnswer.length > ANSWER_SHOWN ? `${c.sellerAnswer.slice(0, ANSWER_SHOWN)}…` : c.sellerAnswer}
                </blockquote>
              </dd>
            </div>
          )}
        </dl>
      ))}
      {open.length > 0 && (
        <p className="small" data-testid="claim-refund">
          {!ended
            ? t('claim.refundLater')
            : wallet.data
              ? t('claim.refundable', { amount: formatUsdc(wallet.data.refundableUsdc, intlLocale) })
              : t('claim.refundableLoading')}
        </p>
      )}
    </section>
  );
}
