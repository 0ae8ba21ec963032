/** True when the wallet says the user declined (EIP-1193 code 4001 anywhere in the cause chain). */
export function isUserRejection(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 10; depth++) {
    const candidate = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (candidate.code === 4001 || candidate.name === 'UserRejectedRequestError') return true;
    current = candidate.cause;
  }
  return false;
}

/** The short message of a wallet/viem error, without its multi-line details. */
export function shortErrorMessage(error: unknown): string {
  const described = error as { shortMessage?: string; message?: string };
  return (described?.shortMessage ?? described?.message ?? String(error)).split('\n')[0]!;
}
