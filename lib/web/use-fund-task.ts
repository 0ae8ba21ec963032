'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useAccount, useSignTypedData } from 'wagmi';
import type { Translate } from '@/lib/i18n/locale';
import { api, ApiError, type TaskDetail } from './api';
import { taskKey, useTaskInvalidation } from './use-task';
import { isUserRejection, shortErrorMessage } from './wallet-errors';

export type FundPhase = 'idle' | 'signing' | 'submitting';

/**
 * Sign & fund: fetch the task's proposed EIP-3009 authorization, have the wallet sign it
 * (uint256 fields as bigint), post it to the fund route. Every failure leaves the task
 * payable and returns a readable message; nothing here moves the task locally except a
 * confirmed fund.
 */
export function useFundTask(taskId: string, t: Translate) {
  const { address } = useAccount();
  const { signTypedDataAsync } = useSignTypedData();
  const queryClient = useQueryClient();
  const invalidate = useTaskInvalidation();
  const [phase, setPhase] = useState<FundPhase>('idle');
  const [error, setError] = useState<string | null>(null);
  const [txHash, setTxHash] = useState<string | null>(null);

  async function fund() {
    setError(null);
    setPhase('signing');
    try {
      const task = await api.task(taskId);
      queryClient.setQueryData(taskKey(taskId), task);
      const request = task.fundingRequest;
      if (task.status !== 'pending_payment' || !request) return;
      if (address && address.toLowerCase() !== request.message.from.toLowerCase()) {
        setError(t('fund.wrongAccount', { address: request.message.from }));
        return;
      }
      const { message } = request;
      let signature: `0x${string}`;
      try {
        signature = await signTypedDataAsync({
          domain: { ...request.domain, chainId: Number(request.domain.chainId) },
          types: request.types,
          primaryType: request.primaryType,
          message: {
            from: message.from,
            to: message.to,
            value: BigInt(message.value),
            validAfter: BigInt(message.validAfter),
            validBefore: BigInt(message.validBefore),
            nonce: message.nonce,
          },
        });
      } catch (e) {
        setError(isUserRejection(e) ? t('fund.rejected') : t('fund.failed', { message: shortErrorMessage(e) }));
        return;
      }
      setPhase('submitting');
      const result = await api.fund(taskId, message, signature);
      setTxHash(result.txHash);
      queryClient.setQueryData<TaskDetail>(taskKey(taskId), (old) =>
        old
          ? {
              ...old,
              status: old.status === 'pending_payment' ? 'funded' : old.status,
              fundingTxHash: result.txHash,
              fundingRequest: null,
            }
          : old,
      );
    } catch (e) {
      if (e instanceof ApiError && /expired|valid_?before/i.test(`${e.code} ${e.message}`)) setError(t('fund.expired'));
      else setError(t('fund.failed', { message: ensureSentence(shortErrorMessage(e)) }));
    } finally {
      setPhase('idle');
      void invalidate(taskId);
    }
  }

  return { fund, phase, error, txHash };
}

const ensureSentence = (s: string) => (/[.!?。！？]$/.test(s) ? s : `${s}.`);
