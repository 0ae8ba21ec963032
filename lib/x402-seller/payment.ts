import { decodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentPayload } from '@x402/core/types';
import { extractAndValidatePaymentIdentifier, PAYMENT_IDENTIFIER } from '@x402/extensions/payment-identifier';
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { getKnownContracts } from '../chain/clients';
import type { Authorization } from '../chain/eip3009';
import { AppError } from '../errors';
import { describeZodError } from '../http';
import { saleNetwork, saleNetworkV1 } from './resource';
import { HEX_ADDRESS, HEX_WORD } from '../hex';

// The payment an x402 client sent with its request (v2 PAYMENT-SIGNATURE, v1 X-PAYMENT), read
// as data to check: an `exact` EIP-3009 authorization on this chain, and the optional
// payment-identifier. Whether it pays the right amount to the right wallet is the fund checks'
// business (lib/tasks/fund-task.ts), as for any funding.

export type SalePayment = {
  version: 1 | 2;
  authorization: Authorization;
  signature: Hex;
  /** The `payment-identifier` extension's id (v2), the buyer's idempotency key. */
  paymentId: string | null;
};

const refuse = (message: string) => new AppError('bad_request:x402_payment', message);

const uint = z.union([z.string().regex(/^\d{1,78}$/), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]);
const exactEvmPayload = z.object({
  authorization: z.object({
    from: z.string().regex(HEX_ADDRESS),
    to: z.string().regex(HEX_ADDRESS),
    value: uint,
    validAfter: uint,
    validBefore: uint,
    nonce: z.string().regex(HEX_WORD),
  }),
  // 65 bytes for an EOA; a contract wallet's (ERC-1271) may be longer, bounded as the fund route bounds it.
  signature: z.string().regex(/^0x(?:[0-9a-fA-F]{2}){65,4096}$/),
});

/** The payment of a request, or undefined for an unpaid one. v2 wins when a client sends both. */
export function readSalePayment(headers: Headers): SalePayment | undefined {
  const v2 = headers.get('payment-signature');
  const v1 = headers.get('x-payment');
  const header = v2 ?? v1;
  if (!header) return undefined;
  if (header.length > 16_384) throw refuse('The payment header is larger than 16 KB.');
  let decoded: unknown;
  try {
    decoded = decodePaymentSignatureHeader(header);
  } catch {
    throw refuse(`The ${v2 ? 'PAYMENT-SIGNATURE' : 'X-PAYMENT'} header is not base64-encoded JSON.`);
  }
  const payload = (decoded ?? {}) as Record<string, unknown>;
  const version = payload.x402Version;
  if (version !== 1 && version !== 2) throw refuse('The payment must be x402 version 1 or 2.');
  // v2 names what it pays in `accepted`; v1 carries scheme and network at the top level.
  const accepted = (version === 2 ? payload.accepted : payload) as Record<string, unknown> | undefined;
  checkPaymentKind(version, accepted);
  const parsed = exactEvmPayload.safeParse(payload.payload);
  if (!parsed.success) {
    throw refuse(`The payment is not an exact EIP-3009 authorization: ${describeZodError(parsed.error)}.`);
  }
  const raw = parsed.data.authorization;
  return {
    version,
    authorization: {
      from: getAddress(raw.from),
      to: getAddress(raw.to),
      value: BigInt(raw.value),
      validAfter: BigInt(raw.validAfter),
      validBefore: BigInt(raw.validBefore),
      nonce: raw.nonce.toLowerCase() as Hex,
    },
    signature: parsed.data.signature.toLowerCase() as Hex,
    paymentId: version === 2 ? paymentIdOf(payload as unknown as PaymentPayload) : null,
  };
}

function checkPaymentKind(version: 1 | 2, accepted: Record<string, unknown> | undefined) {
  if (!accepted || accepted.scheme !== 'exact') {
    throw refuse('AgentMint takes the `exact` scheme only (an EIP-3009 transferWithAuthorization).');
  }
  const networks = version === 2 ? [saleNetwork()] : [saleNetworkV1(), saleNetwork()];
  if (typeof accepted.network !== 'string' || !networks.includes(accepted.network)) {
    throw refuse(`The payment is for network ${String(accepted.network)}; AgentMint sells on ${networks[0]}.`);
  }
  const asset = accepted.asset;
  if (version === 2 && (typeof asset !== 'string' || !HEX_ADDRESS.test(asset))) {
    throw refuse('The payment names no asset; AgentMint takes USDC.');
  }
  if (typeof asset === 'string' && !isAddressEqual(asset as Address, getKnownContracts().usdc)) {
    throw refuse(`The payment is in ${asset}; AgentMint takes the USDC at ${getAddress(getKnownContracts().usdc)}.`);
  }
}

function paymentIdOf(payload: PaymentPayload): string | null {
  if (!payload.extensions || !(PAYMENT_IDENTIFIER in payload.extensions)) return null;
  const { id, validation } = extractAndValidatePaymentIdentifier(payload);
  if (!validation.valid) throw refuse(`The payment-identifier is invalid: ${(validation.errors ?? []).join('; ')}.`);
  return id;
}
