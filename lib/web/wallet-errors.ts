/** True when the wallet says the user declined (EIP-1193 code 4001 anywhere in the cause chain). */
export function isUserRejection(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 10; depth++) {
    const e = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (e.code === 4001 || e.name === 'UserRejectedRequestError') return true;
    current = e.cause;
  }
  return false;
}

/** The short message of a wallet/viem error, without its multi-line details. */
export function shortErrorMessage(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  return (e?.shortMessage ?? e?.message ?? String(error)).split('\n')[0]!;
}
