// Shared by proxy.ts (which must stay light: no config, no logger) and lib/client-ip.ts.

/** The x-forwarded-for a request arrived with, as proxy.ts recorded it. */
export const ARRIVED_FORWARDED_FOR = 'x-agentmint-forwarded-for';

/**
 * The request headers proxy.ts passes on: the arrived x-forwarded-for under our own name (any
 * copy a client sent of that name is overwritten), and no x-forwarded-for, so that Next's server
 * sets it to the socket's address (it fills the header only when absent).
 */
export function moveForwardedFor(incoming: Headers): Headers {
  const headers = new Headers(incoming);
  headers.set(ARRIVED_FORWARDED_FOR, incoming.get('x-forwarded-for') ?? '');
  headers.delete('x-forwarded-for');
  return headers;
}
