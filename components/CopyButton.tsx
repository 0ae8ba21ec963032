'use client';

import { useState } from 'react';
import { useI18n } from '@/lib/i18n/context';

export function CopyButton({ value, label }: { value: string; label: string }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-small"
      aria-label={label}
      data-testid="copy-button"
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(value);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? t('wallet.copied') : t('common.copy')}
      <span className="sr-only" aria-live="polite">
        {copied ? t('wallet.copied') : ''}
      </span>
    </button>
  );
}
