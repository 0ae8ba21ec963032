import { AppError } from '../errors';

// Open task event streams per user. Each holds a connection, a NOTIFY subscription and a
// heartbeat timer, so one user (or one stolen cookie) must not open thousands. Counted per web
// process, like the rate limits: N processes allow N × the cap, still bounded.

/** More than a page needs: one stream per task that is funded or minting, across a few tabs. */
export const MAX_STREAMS_PER_USER = 20;

const open = new Map<string, number>();

/** Takes a stream slot for `userAddress` (429 when all are in use); call the result once to give it back. */
export function takeStreamSlot(userAddress: string): () => void {
  const key = userAddress.toLowerCase();
  const count = open.get(key) ?? 0;
  if (count >= MAX_STREAMS_PER_USER) {
    throw new AppError(
      'rate_limited:events',
      `At most ${MAX_STREAMS_PER_USER} task streams may be open at once. Close a tab or wait for a task to finish.`,
      {
        headers: { 'retry-after': '5' },
      },
    );
  }
  open.set(key, count + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (open.get(key) ?? 1) - 1;
    if (left > 0) open.set(key, left);
    else open.delete(key);
  };
}

export const openStreamCount = (userAddress: string) => open.get(userAddress.toLowerCase()) ?? 0;
