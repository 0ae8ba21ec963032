'use client';

import { useAppConfig } from '@/lib/web/app-config';
import { shortHex } from '@/lib/web/format';

/** A block-explorer link on Base networks; on the local chain (no explorer) the hash itself. */
export function TxLink({ hash }: { hash: string }) {
  const { txUrl } = useAppConfig();
  const url = txUrl(hash);
  if (!url) {
    return (
      <code className="hash" title={hash} data-testid="tx-hash">
        {shortHex(hash, 10, 8)}
      </code>
    );
  }
  return (
    <a href={url} target="_blank" rel="noreferrer" className="hash" title={hash} data-testid="tx-link">
      {shortHex(hash, 10, 8)}
    </a>
  );
}
