import { getConfig } from './config';
import { ARRIVED_FORWARDED_FOR } from './forwarded-for';
import { getLogger } from './log';

const entries = (value: string | null) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

let warnedHops = false;

/**
 * The client's IP as the operator's own infrastructure saw it: with TRUSTED_PROXY_HOPS=0 the
 * socket's address; with N, the address the Nth proxy from us recorded, i.e. the Nth entry from
 * the right of the x-forwarded-for that reached us. Entries further left were written by the
 * client (or proxies we do not run) and are never trusted. 'unknown' when nothing names it
 * (a route handler called directly, as in tests).
 */
export function clientIp(req: Request, hops = getConfig().trustedProxyHops): string {
  // What proxy.ts saw arrive, then the socket address Next filled in. Without proxy.ts (tests
  // calling a handler directly) only x-forwarded-for exists, and its last entry stands in.
  const arrived = entries(req.headers.get(ARRIVED_FORWARDED_FOR));
  const socket = entries(req.headers.get('x-forwarded-for'));
  const chain = [...arrived, ...socket];
  if (chain.length === 0) return 'unknown';
  // Next's server fills x-forwarded-for with the socket's address before proxy.ts runs, so a
  // direct request "arrives" with exactly that: only more than that means a proxy wrote it.
  const proxied = arrived.length > 1 || (arrived.length === 1 && arrived[0] !== socket.at(-1));
  if (hops === 0 && proxied && !warnedHops) {
    warnedHops = true;
    getLogger().warn(
      'requests carry x-forwarded-for but TRUSTED_PROXY_HOPS=0: limiting by the connecting address (set TRUSTED_PROXY_HOPS=1 behind one reverse proxy)',
    );
  }
  // Fewer entries than proxies: the request bypassed some of them; the leftmost is the best left.
  const ip = chain[Math.max(0, chain.length - 1 - hops)]!;
  return ip.slice(0, 64);
}
