'use client';

import { useI18n } from '@/lib/i18n/context';
import type { TaskDto } from '@/lib/web/api';
import { TxLink } from './TxLink';

/** The task's money on chain: the payment that funded it and the refund of what it left unspent. */
export function TaskTransactions({ task }: { task: Pick<TaskDto, 'fundingTxHash' | 'refund'> }) {
  const { t } = useI18n();
  return (
    <>
      {task.fundingTxHash && (
        <p className="small">
          {t('task.fundingTx')}: <TxLink hash={task.fundingTxHash} />
        </p>
      )}
      {task.refund?.status === 'pending' && (
        <p className="small muted" data-testid="task-refund" data-refund="pending">
          {t('task.refundPending')}
        </p>
      )}
      {task.refund?.status === 'sent' && (
        <p className="small" data-testid="task-refund" data-refund="sent">
          {t('task.refundTx')}: <TxLink hash={task.refund.txHash} />
        </p>
      )}
    </>
  );
}
