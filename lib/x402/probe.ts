import { x402Client, x402HTTPClient } from '@x402/core/client';
import { isPaymentIdentifierExtension, PAYMENT_IDENTIFIER } from '@x402/extensions/payment-identifier';
import { getAddress, isAddress, parseUnits, type Address, type PublicClient } from 'viem';
import type { X402Terms } from '@/db/schema';
import { getChain, getKnownContracts, getPublicClient } from '../chain/clients';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { isPaymentAsset } from '../wallets/payment-guard';
import { readAssetDomain, readErc20, type Erc20Info } from './onchain';
import { checkOutboundUrl, OutboundError, safeFetch } from './outbound';
import { learnMintsPerPayment } from './bulk-pricing';
import { normaliseRequirements, selectRequirement, type RawRequirement } from './requirements';
import {
  answersWithVoucher,
  asksForTransactionHash,
  buyerFacingText,
  declaredInputOf,
  fieldKind,
  missingFieldsOf,
  nonX402Payment,
  sellerMessage,
  type DeclaredInput,
} from './seller-shapes';

// The probe: unpaid requests to the endpoint a user named (POST, else GET; again with the fields
// a refusal or the 402's declared input asks for, at most four in all), read with the official
// x402 HTTP client (v2: base64 PAYMENT-REQUIRED header; v1: JSON body with accepts[]), and the
// terms a task will pay, or a refusal that says what is wrong, in the seller's words where it
// gave some. Sellers that sell vouchers, want a transaction hash, or a payment outside x402 are
// refused here, before any money moves. Nothing is paid here.

export type ProbeTarget = {
  chainId: number;
  usdc: Address;
  maxAmount: bigint;
  /** X402_MAX_AUTHORIZATION_SECONDS: the longest lifetime an authorization of the task may have. */
  maxAuthorizationSeconds: number;
  allowedHosts?: readonly string[];
  client: PublicClient;
  /** Mints one payment may buy from a seller that prices a quantity (lib/x402/bulk-pricing.ts); 1 or absent: one per payment, not asked. */
  mintsPerPayment?: number;
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
    mintsPerPayment: getConfig().x402.mintsPerPayment,
    client: getPublicClient(),
  };
}

export async function probeX402Endpoint(
  input: { url: string; userAddress: string; tokenAddress?: string; recipient?: string },
  target: ProbeTarget = defaultProbeTarget(),
): Promise<ProbeResult> {
  const url = vetUrl(input.url, target.allowedHosts);
  const host = url.host;
  const seedToken = url.pathname.match(SEED_PATH)?.[1];
  // The address AgentMint fills in where the seller takes one: the task's recipient, else the user.
  const recipient = getAddress(input.recipient ?? input.userAddress);

  // A mint changes state, so POST first (one mint per request, as the task pays). An endpoint
  // that takes only GET says so with 405, or with 404 as Express does ("Cannot POST").
  let request: SellerRequest = { method: 'POST', body: { quantity: 1, ...(seedToken ? { recipient } : {}) } };
  let answer = await ask(url, request, target);
  if (answer.status === 404 || answer.status === 405) {
    request = { method: 'GET' };
    answer = await ask(url, request, target);
  }
  // A refusal naming fields it misses: asked once more with those AgentMint can fill in (in a
  // POST body: an endpoint that already refused POST is told as it answered, in its own words).
  const missing = missingFieldsOf(answer.said);
  const fillable = missing.length > 0 && missing.every((f) => fieldKind(f) !== 'unknown');
  if (isRefusal(answer.status) && fillable && request.method === 'POST') {
    request = { method: 'POST', body: fillFields(request.body, missing, recipient) };
    answer = await ask(url, request, target);
  }
  if (answer.status !== 402) throw refusalOf(host, answer);

  let read = readTerms(host, answer, target);
  // Before its declared input is read: a field it wants filled with a hash is this, not a field to ask for.
  if (asksForTransactionHash(read.everything)) throw txHashPayment(host);
  // The input the 402 declares (outputSchema.input): its method and body fields, filled in.
  const declared = declaredInputOf(read.chosen.outputSchema, read.extensions);
  if (declared) {
    const unknown = declared.fields.filter((f) => f.required && fieldKind(f.name) === 'unknown').map((f) => f.name);
    if (unknown.length > 0)
      throw refuse(
        'needs_fields',
        `${host} needs ${unknown.join(', ')} in each request, which AgentMint cannot fill in (it fills in the recipient and the quantity).`,
        { fields: unknown },
      );
    const wanted = requestOf(declared, request, recipient);
    if (!sameRequest(wanted, request)) {
      request = wanted;
      answer = await ask(url, request, target);
      if (answer.status !== 402) throw refusalOf(host, answer);
      read = readTerms(host, answer, target);
    }
  }
  const { chosen, version, everything } = read;
  if (answersWithVoucher(chosen.outputSchema, chosen.description, read.extensions))
    throw refuse(
      'voucher',
      `${host} sells a voucher: a paid request returns a signature the buyer must redeem on chain itself, and the payment is settled by a separate call. AgentMint buys only mints the seller delivers, so it does not buy here.`,
    );
  if (asksForTransactionHash(everything)) throw txHashPayment(host);

  const asset = getAddress(chosen.asset);
  const domain = await readAssetDomain(asset, target.client);
  if (!domain)
    throw refuse('domain_unknown', `The payment asset ${asset} does not expose its EIP-712 name and version.`);
  const advertised = advertisedDomainOf(chosen.extra);
  const mintsToUser = request.body !== undefined && Object.values(request.body).includes(recipient);
  const { token, source } = await tokenOf(input.tokenAddress, chosen, seedToken, target);
  if (token && isPaymentAsset(token.address, [target.usdc, chosen.asset]))
    throw refuse(
      'token_is_payment_asset',
      `${getAddress(token.address)} is the USDC AgentMint pays with, not a token a mint can sell: give the address of the token this endpoint mints.`,
    );

  const setting = target.mintsPerPayment ?? 1;
  const mintsPerPayment = await learnMintsPerPayment(request.body, chosen, setting, async (body) => {
    const answer = await ask(url, { method: 'POST', body }, target);
    if (answer.status !== 402) return { refused: `${answer.status}` };
    try {
      return {
        requirement: readTerms(host, answer, { ...target, maxAmount: target.maxAmount * BigInt(setting) }).chosen,
      };
    } catch {
      return { refused: 'unreadable 402' };
    }
  });

  const terms: X402Terms = {
    url: url.toString(),
    method: request.method,
    ...(request.body ? { body: request.body } : {}),
    mintsToUser,
    version,
    requirement: {
      scheme: 'exact',
      network: chosen.network,
      asset,
      amount: BigInt(chosen.amount).toString(),
      payTo: getAddress(chosen.payTo),
      maxTimeoutSeconds: chosen.maxTimeoutSeconds,
      ...(chosen.resource ? { resource: chosen.resource } : {}),
      ...(chosen.extra ? { extra: chosen.extra } : {}),
    },
    // Signed authorizations live this long, however long the seller asks (ten years, say):
    // one it refuses or holds is dead minutes later. The requirement keeps what it advertised.
    authorizationSeconds: Math.min(chosen.maxTimeoutSeconds, target.maxAuthorizationSeconds),
    // The asset checks the signature against its own domain: a payment signed for what `extra`
    // names instead ("BANANA Mint") would be refused by the chain, so the asset's is signed.
    domain,
    ...(advertised && (advertised.name !== domain.name || advertised.version !== domain.version)
      ? { advertisedDomain: advertised }
      : {}),
    ...(version === 2 && isPaymentIdentifierExtension(read.extensions?.[PAYMENT_IDENTIFIER])
      ? { paymentIdentifier: { required: read.extensions[PAYMENT_IDENTIFIER].info.required === true } }
      : {}),
    mintsPerPayment,
  };
  return { terms, host, token, tokenSource: source };
}

const txHashPayment = (host: string) =>
  refuse(
    'tx_hash_payment',
    `${host} wants a transaction hash as payment (a transfer the buyer sends first, with nothing tying it to a delivery). AgentMint pays only with x402 authorizations, so it does not buy here.`,
  );

type SellerRequest = { method: 'GET' | 'POST'; body?: Record<string, unknown> };
type SellerAnswer = { status: number; headers: Headers; text: string; json: unknown; said?: string };

async function ask(url: URL, request: SellerRequest, target: ProbeTarget): Promise<SellerAnswer> {
  const response = await send(url, request.method, request.body, target);
  const text = await response.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json, said: sellerMessage(text, json) };
}

const isRefusal = (status: number) => status >= 400 && status < 500 && status !== 402;

/** A non-402 answer as the user is told it: the seller's own words where it gave some. */
function refusalOf(host: string, answer: SellerAnswer): AppError {
  const { status, said } = answer;
  const missing = missingFieldsOf(said).filter((f) => fieldKind(f) === 'unknown');
  if (isRefusal(status) && status !== 404 && status !== 405 && said)
    return refuse(
      'seller_refused',
      `${host} refused the request (${status}); the seller says: "${said}".${
        missing.length > 0
          ? ` AgentMint fills in the recipient and the quantity; it cannot supply ${missing.join(', ')}.`
          : ''
      }`,
      { status, said, ...(missing.length > 0 ? { fields: missing } : {}) },
    );
  return refuse(
    'no_402',
    `${host} answered ${status}, not 402 Payment Required: it is not an x402 endpoint (or not at this URL)${said ? `; the seller says: "${said}"` : ''}.`,
    { status, ...(said ? { said } : {}) },
  );
}

/** The 402 read with the official client, and the requirement AgentMint can pay. */
function readTerms(host: string, answer: SellerAnswer, target: ProbeTarget) {
  let paymentRequired;
  try {
    paymentRequired = new x402HTTPClient(new x402Client()).getPaymentRequiredResponse(
      (name) => answer.headers.get(name),
      answer.json,
    );
  } catch {
    const other = nonX402Payment(answer.json);
    if (other)
      throw refuse(
        'not_x402_payment',
        `${host} answered 402 but asks to be paid outside x402 (${other.amount ? `${other.amount} ` : ''}to ${other.payTo}, sent by the buyer itself): AgentMint pays only with x402 authorizations the seller settles, so it does not buy here.`,
      );
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
  // Everything the seller wrote but what it says it returns, for reading what it wants (bounded: the body is at most 64 KiB).
  const everything = `${buyerFacingText(answer.json ?? answer.text)} ${buyerFacingText(paymentRequired)}`;
  return { chosen, version, extensions: paymentRequired.extensions as Record<string, unknown> | undefined, everything };
}

function fillFields(body: Record<string, unknown> | undefined, fields: string[], recipient: Address) {
  const out: Record<string, unknown> = { ...(body ?? {}) };
  for (const name of fields) out[name] = fieldKind(name) === 'quantity' ? 1 : recipient;
  if (!fields.some((f) => fieldKind(f) === 'quantity') && out.quantity === undefined) out.quantity = 1;
  return out;
}

/** The request a declared input asks for: its method; its fields filled in (one mint, the user as recipient). */
function requestOf(declared: DeclaredInput, current: SellerRequest, recipient: Address): SellerRequest {
  const method = declared.method ?? current.method;
  if (method === 'GET') return { method };
  if (declared.fields.length === 0) return { method, body: current.body ?? { quantity: 1 } };
  const body: Record<string, unknown> = {};
  for (const f of declared.fields) {
    const kind = fieldKind(f.name);
    if (kind === 'recipient') body[f.name] = recipient;
    else if (kind === 'quantity') body[f.name] = 1;
  }
  return { method, body };
}

function sameRequest(a: SellerRequest, b: SellerRequest) {
  const keys = (r: SellerRequest) =>
    Object.keys(r.body ?? {})
      .sort()
      .join(',');
  return a.method === b.method && keys(a) === keys(b);
}

function advertisedDomainOf(extra: Record<string, unknown> | undefined) {
  const { name, version } = extra ?? {};
  return typeof name === 'string' && typeof version === 'string' ? { name, version } : undefined;
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
    // banana-x402 names the token it sells as `contract`.
    [extra.contract, 'extra'],
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
