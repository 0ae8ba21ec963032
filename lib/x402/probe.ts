import { x402Client, x402HTTPClient } from '@x402/core/client';
import { getAddress, isAddress, parseUnits, type Address, type PublicClient } from 'viem';
import type { X402Terms } from '@/db/schema';
import { getChain, getKnownContracts, getPublicClient } from '../chain/clients';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { isPaymentAsset } from '../wallets/payment-guard';
import { readAssetDomain, readErc20, type Erc20Info } from './onchain';
import { checkOutboundUrl, OutboundError, safeFetch } from './outbound';
import { normaliseRequirements, selectRequirement, type RawRequirement } from './requirements';

// The probe: one unpaid request to the endpoint a user named, read with the official x402 HTTP
// client (v2: base64 PAYMENT-REQUIRED header; v1: JSON body with accepts[]), and the terms a
// task will pay, or a refusal that says what is wrong. Nothing is paid here.

export type ProbeTarget = {
  chainId: number;
  usdc: Address;
  maxAmount: bigint;
  /** X402_MAX_AUTHORIZATION_SECONDS: the longest lifetime an authorization of the task may have. */
  maxAuthorizationSeconds: number;
  allowedHosts?: readonly string[];
  client: PublicClient;
};

export type ProbeResult = {
  terms: X402Terms;
  host: string;
  token?: Erc20Info;
  tokenSource?: 'message' | 'extra' | 'url' | 'payTo';
};

const refuse = (reason: string, message: string, details: Record<string, unknown> = {}) =>
  new AppError('bad_request:x402', message, { details: { reason, ...details } });

// The seed's upstream endpoints: POST /api/mint/<token> with { quantity, recipient? }.
const SEED_PATH = /\/api\/mint\/(0x[0-9a-fA-F]{40})\/?$/;

export function defaultProbeTarget(): ProbeTarget {
  return {
    chainId: getChain().id,
    usdc: getKnownContracts().usdc,
    maxAmount: parseUnits(getConfig().x402.maxPricePerMint, 6),
    maxAuthorizationSeconds: getConfig().x402.maxAuthorizationSeconds,
    client: getPublicClient(),
  };
}

export async function probeX402Endpoint(
  input: { url: string; userAddress: string; tokenAddress?: string },
  target: ProbeTarget = defaultProbeTarget(),
): Promise<ProbeResult> {
  const url = vetUrl(input.url, target.allowedHosts);
  const host = url.host;
  const seedToken = url.pathname.match(SEED_PATH)?.[1];
  const recipient = getAddress(input.userAddress);

  // A mint changes state, so POST first (one mint per request, as the task pays); an endpoint
  // that only takes GET says so with 405.
  const postBody = { quantity: 1, ...(seedToken ? { recipient } : {}) };
  let method: 'GET' | 'POST' = 'POST';
  let response = await send(url, 'POST', postBody, target);
  if (response.status === 405) {
    method = 'GET';
    response = await send(url, 'GET', undefined, target);
  }
  if (response.status !== 402) {
    throw refuse(
      'no_402',
      `${host} answered ${response.status}, not 402 Payment Required: it is not an x402 endpoint (or not at this URL).`,
      { status: response.status },
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  let paymentRequired;
  try {
    paymentRequired = new x402HTTPClient(new x402Client()).getPaymentRequiredResponse(
      (name) => response.headers.get(name),
      json,
    );
  } catch {
    throw refuse(
      'not_x402',
      `${host} answered 402 without x402 payment requirements (no PAYMENT-REQUIRED header, no x402 v1 body).`,
    );
  }
  const { version, requirements } = normaliseRequirements(paymentRequired);
  const chosen = selectRequirement(requirements, {
    chainId: target.chainId,
    usdc: target.usdc,
    maxAmount: target.maxAmount,
    networkLabel: `eip155:${target.chainId}`,
  });
  const domain = await domainOf(chosen, target.client);
  const mintsToUser =
    Boolean(seedToken) || describesRecipient(chosen.outputSchema) || describesRecipient(paymentRequired.extensions);
  const body = method === 'POST' ? { quantity: 1, ...(mintsToUser ? { recipient } : {}) } : undefined;
  const { token, source } = await tokenOf(input.tokenAddress, chosen, seedToken, target);
  if (token && isPaymentAsset(token.address, [target.usdc, chosen.asset]))
    throw refuse(
      'token_is_payment_asset',
      `${getAddress(token.address)} is the USDC AgentMint pays with, not a token a mint can sell: give the address of the token this endpoint mints.`,
    );

  const terms: X402Terms = {
    url: url.toString(),
    method,
    ...(body ? { body } : {}),
    mintsToUser,
    version,
    requirement: {
      scheme: 'exact',
      network: chosen.network,
      asset: getAddress(chosen.asset),
      amount: BigInt(chosen.amount).toString(),
      payTo: getAddress(chosen.payTo),
      maxTimeoutSeconds: chosen.maxTimeoutSeconds,
      ...(chosen.resource ? { resource: chosen.resource } : {}),
      ...(chosen.extra ? { extra: chosen.extra } : {}),
    },
    // Signed authorizations live this long, however long the seller asks (ten years, say):
    // one it refuses or holds is dead minutes later. The requirement keeps what it advertised.
    authorizationSeconds: Math.min(chosen.maxTimeoutSeconds, target.maxAuthorizationSeconds),
    domain,
  };
  return { terms, host, token, tokenSource: source };
}

function vetUrl(raw: string, allowedHosts?: readonly string[]): URL {
  try {
    return checkOutboundUrl(raw.trim(), allowedHosts).url;
  } catch (error) {
    throw toRefusal(error);
  }
}

async function send(url: URL, method: 'GET' | 'POST', body: unknown, target: ProbeTarget): Promise<Response> {
  try {
    return await safeFetch(url, {
      method,
      headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      allowedHosts: target.allowedHosts,
      maxBytes: 64 * 1024,
    });
  } catch (error) {
    throw toRefusal(error);
  }
}

/** An outbound failure as the user is told it; the probe's refusals are all 400s. */
export function toRefusal(error: unknown): AppError {
  if (!(error instanceof OutboundError))
    return error instanceof AppError ? error : refuse('unreachable', 'The endpoint could not be reached.');
  const host = error.details.host ?? 'The endpoint';
  switch (error.reason) {
    case 'bad_url':
      return refuse('bad_url', `That is not an endpoint URL AgentMint can call (${error.message}).`);
    case 'not_https':
      return refuse('not_https', `${host} is not https: AgentMint only pays endpoints over https.`);
    case 'blocked_address':
      return refuse(
        'blocked_address',
        `${host} resolves to a ${error.details.range} address: AgentMint only calls public endpoints.`,
        { range: error.details.range },
      );
    case 'redirect':
      return refuse(
        'redirect',
        `${host} answered with a redirect (${error.details.status}); AgentMint does not follow redirects. Give the endpoint's final URL.`,
      );
    case 'dns':
      return refuse('unreachable', `${host} could not be found (DNS).`);
    case 'too_large':
      return refuse('unreachable', `${host} answered with more data than a payment request can hold.`);
    default:
      return refuse('unreachable', `${host} could not be reached (${error.reason}).`);
  }
}

async function domainOf(r: RawRequirement, client: PublicClient): Promise<X402Terms['domain']> {
  const { name, version } = r.extra ?? {};
  if (typeof name === 'string' && name && typeof version === 'string' && version) return { name, version };
  // v1 endpoints like the seed's omit `extra`; the asset itself says how it signs.
  const read = await readAssetDomain(getAddress(r.asset), client);
  if (!read)
    throw refuse(
      'domain_unknown',
      `The payment asset ${getAddress(r.asset)} does not expose its EIP-712 name and version.`,
    );
  return read;
}

/** Whether a schema the endpoint publishes (v1 outputSchema, v2 bazaar extension) has a `recipient` input. */
function describesRecipient(schema: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 6) return false;
  return Object.entries(schema).some(([key, value]) => key === 'recipient' || describesRecipient(value, depth + 1));
}

async function tokenOf(
  given: string | undefined,
  r: RawRequirement,
  seedToken: string | undefined,
  target: ProbeTarget,
) {
  if (given) {
    if (!isAddress(given, { strict: false }))
      throw refuse('token_invalid', 'The token address must be 0x followed by 40 hex characters.');
    const token = await readErc20(getAddress(given), target.client);
    if (!token) throw refuse('token_not_erc20', `${getAddress(given)} is not an ERC20 token on this chain.`);
    return { token, source: 'message' as const };
  }
  const extra = r.extra ?? {};
  const candidates: Array<[unknown, 'extra' | 'url' | 'payTo']> = [
    [extra.token, 'extra'],
    [extra.tokenAddress, 'extra'],
    [seedToken, 'url'],
    [r.payTo, 'payTo'],
  ];
  for (const [candidate, source] of candidates) {
    if (typeof candidate !== 'string' || !isAddress(candidate, { strict: false })) continue;
    if (candidate.toLowerCase() === target.usdc.toLowerCase()) continue;
    const token = await readErc20(getAddress(candidate), target.client);
    if (token) return { token, source };
  }
  return { token: undefined, source: undefined };
}
