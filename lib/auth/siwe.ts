import { randomBytes } from 'node:crypto';
import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { parseSiweMessage, type SiweMessage } from 'viem/siwe';
import { consumeAuthNonce, deleteExpiredAuthNonces, insertAuthNonce } from '@/db/auth-nonces';
import { getChain, getPublicClient } from '../chain/clients';
import { getConfig } from '../config';
import { AppError } from '../errors';

// A sign-in nonce is used seconds after it is issued; ten minutes covers a wallet popup left open
// for a while, and bounds how long an unused one is worth stealing.
export const NONCE_TTL_MS = 10 * 60_000;
const SWEEP_EVERY_MS = 60_000;
let lastSweep = 0;

/** A fresh single-use nonce (128 random bits, hex = EIP-4361's alphanumeric), stored 10 minutes. */
export async function issueNonce(now = Date.now()): Promise<{ nonce: string; expiresAt: string }> {
  const nonce = randomBytes(16).toString('hex');
  const expiresAt = new Date(now + NONCE_TTL_MS);
  await insertAuthNonce({ nonce, expiresAt });
  if (now - lastSweep > SWEEP_EVERY_MS) {
    lastSweep = now;
    // Expired rows are useless; keeping a day of them costs nothing and helps debugging.
    await deleteExpiredAuthNonces({ before: new Date(now - 24 * 3600_000) });
  }
  return { nonce, expiresAt: expiresAt.toISOString() };
}

/**
 * What a message must name: PUBLIC_URL's host as its domain and its origin as its uri. From
 * configuration only, never from the request: a Host header is chosen by whoever sends it, so
 * a signature collected by another site for its own domain could otherwise be replayed here.
 */
export function expectedSiweOrigin(): { domain: string; origin: string } {
  const origin = getConfig().publicUrl;
  return { domain: new URL(origin).host, origin };
}

/** How old a message's issuedAt may be (a nonce lives as long), and how far ahead of our clock. */
export const ISSUED_AT_MAX_AGE_MS = NONCE_TTL_MS;
export const ISSUED_AT_MAX_SKEW_MS = 5 * 60_000;

function originOf(uri: string | undefined): string | undefined {
  try {
    return uri ? new URL(uri).origin : undefined;
  } catch {
    return undefined;
  }
}

const fail = (check: string, message: string) => new AppError(`unauthorized:siwe_${check}`, message);

function parse(message: string): Partial<SiweMessage> {
  try {
    return parseSiweMessage(message);
  } catch {
    throw fail('message', 'The message is not a Sign-In with Ethereum message.');
  }
}

/**
 * Checks an EIP-4361 message and its signature; each failed check answers 401 with a code
 * naming it. On success the nonce is spent and the signer's address returned.
 */
export async function verifySiwe(input: {
  message: string;
  signature: Hex;
  now?: Date;
}): Promise<{ address: Address; chainId: number }> {
  const now = input.now ?? new Date();
  const { domain, origin } = expectedSiweOrigin();
  const parsed = parse(input.message);
  if (
    !parsed.address ||
    !isAddress(parsed.address, { strict: false }) ||
    !parsed.nonce ||
    parsed.version !== '1' ||
    !parsed.chainId
  ) {
    throw fail('message', 'The message is missing its address, nonce, version or chain id.');
  }
  if (parsed.domain !== domain)
    throw fail('domain', `The message is for ${parsed.domain ?? 'no domain'}, not ${domain}.`);
  if (originOf(parsed.uri) !== origin)
    throw fail('uri', `The message's URI is ${parsed.uri ?? 'missing'}; sign in from ${origin}.`);
  const chainId = getChain().id;
  if (parsed.chainId !== chainId)
    throw fail('chain', `The message is for chain ${parsed.chainId}; this app runs on chain ${chainId}.`);
  const issuedAt = parsed.issuedAt?.getTime();
  if (issuedAt === undefined || Number.isNaN(issuedAt)) throw fail('issued_at', 'The message has no issue time.');
  if (issuedAt > now.getTime() + ISSUED_AT_MAX_SKEW_MS)
    throw fail('issued_at', 'The message was issued in the future. Check your device clock and sign in again.');
  if (issuedAt < now.getTime() - ISSUED_AT_MAX_AGE_MS)
    throw fail('issued_at', 'The message is too old. Sign in again.');
  if (parsed.expirationTime && !(parsed.expirationTime.getTime() > now.getTime()))
    throw fail('expired', 'The message has expired. Sign in again.');
  if (parsed.notBefore && !(parsed.notBefore.getTime() <= now.getTime()))
    throw fail('not_yet_valid', 'The message is not valid yet.');

  let valid = false;
  try {
    // viem's check covers EOAs and contract wallets (ERC-1271, and ERC-6492 for undeployed ones).
    valid = await getPublicClient().verifySiweMessage({
      message: input.message,
      signature: input.signature,
      domain,
      time: now,
    });
  } catch (cause) {
    throw new AppError('unavailable:siwe', 'Could not check the signature right now. Try again.', { cause });
  }
  if (!valid) throw fail('signature', 'The signature does not match the message and its address.');

  if (!(await consumeAuthNonce({ nonce: parsed.nonce, now }))) {
    throw fail('nonce', 'The nonce is unknown, expired or already used. Request a new one.');
  }
  return { address: getAddress(parsed.address), chainId };
}
