import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentPayload, PaymentRequired } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { appendPaymentIdentifierToExtensions, PAYMENT_IDENTIFIER } from '@x402/extensions/payment-identifier';
import { wrapFetchWithPayment } from '@x402/fetch';
import { createWalletClient, http, parseUnits, type Address, type Hex, type LocalAccount } from 'viem';
import { getChain, getKnownContracts, getPublicClient } from '@/lib/chain/clients';
import { testUSDCAbi } from '@/lib/chain/contracts.generated';
import { getUsdcDomain } from '@/lib/chain/usdc';
import { randomNonce, nowSeconds, signAuthorization, type AuthorizationJson } from '../support/funding';

// An agent with its own wallet, as it meets AgentMint over x402: the official client
// (@x402/core + @x402/evm exact scheme + @x402/fetch) with a viem account.

export const NETWORK = 'eip155:31337' as const;

/**
 * The official client for a local chain: the exact EVM scheme on eip155:31337, and spend controls
 * that allow the local USDC (the library knows only well-known assets and caps them at $1).
 * With `paymentId`, it sends the payment-identifier extension with that id.
 */
export function buyerClient(account: LocalAccount, { paymentId }: { paymentId?: string } = {}) {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: toClientEvmSigner(account), networks: [NETWORK] });
  client.setSpendControls({
    maxAmountPerPayment: false,
    allowedAssets: [
      { network: NETWORK, asset: getKnownContracts().usdc, maxAmountPerPayment: parseUnits('100', 6).toString() },
    ],
  });
  if (paymentId) {
    client.registerExtension({
      key: PAYMENT_IDENTIFIER,
      enrichPaymentPayload: async (payload) => ({
        ...payload,
        extensions: appendPaymentIdentifierToExtensions(structuredClone(payload.extensions ?? {}), paymentId),
      }),
    });
  }
  return client;
}

/** wrapFetchWithPayment over a fetch that keeps every request it sends (to replay the paid one). */
export function payingFetch(client: x402Client) {
  const sent: Request[] = [];
  const recording = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    sent.push(request.clone());
    return fetch(request);
  };
  const pay = wrapFetchWithPayment(recording as typeof fetch, client);
  return {
    sent,
    /** POSTs a purchase with the official client: 402, sign, pay, answer. */
    buy: async (url: string, body: unknown) => {
      const res = await pay(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    },
    /** The PAYMENT-SIGNATURE header of the last paid request. */
    lastPayment: () =>
      sent.findLast((r) => r.headers.has('payment-signature'))?.headers.get('payment-signature') ?? undefined,
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
}

export async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

export const requiredOf = (headers: Headers): PaymentRequired =>
  decodePaymentRequiredHeader(headers.get('payment-required')!);

/**
 * A v2 payment made by hand, as any client could send it: an EIP-3009 authorization from
 * `account` to `payTo` for `amount`, signed by `account` over the local USDC domain. `authorization`
 * and `accepted` override fields, to make every kind of bad payment.
 */
export async function handMadePayment(
  account: LocalAccount,
  {
    payTo,
    amount,
    version = 2,
    authorization: overrides = {},
    accepted: acceptedOverrides = {},
  }: {
    payTo: Address;
    amount: bigint;
    version?: 1 | 2;
    authorization?: Partial<AuthorizationJson>;
    accepted?: Record<string, unknown>;
  },
) {
  const authorization: AuthorizationJson = {
    from: account.address,
    to: payTo,
    value: amount.toString(),
    validAfter: '0',
    validBefore: String(nowSeconds() + 300),
    nonce: randomNonce(),
    ...overrides,
  };
  const signature = await signAuthorization(account, authorization);
  const { name, version: domainVersion } = await getUsdcDomain();
  const accepted = {
    scheme: 'exact',
    network: NETWORK,
    asset: getKnownContracts().usdc,
    amount: amount.toString(),
    payTo,
    maxTimeoutSeconds: 300,
    extra: { name, version: domainVersion },
    ...acceptedOverrides,
  };
  const payload =
    version === 2
      ? ({ x402Version: 2, accepted, payload: { authorization, signature } } as PaymentPayload)
      : ({
          x402Version: 1,
          scheme: accepted.scheme,
          network: accepted.network,
          payload: { authorization, signature },
        } as never);
  return {
    authorization,
    nonce: authorization.nonce,
    signature,
    headers: { [version === 2 ? 'payment-signature' : 'x-payment']: encodePaymentSignatureHeader(payload) },
  };
}

export const usdcBalance = (owner: Address) =>
  getPublicClient().readContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'balanceOf',
    args: [owner],
  });

export const authorizationUsed = (from: Address, nonce: Hex) =>
  getPublicClient().readContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'authorizationState',
    args: [from, nonce],
  });

/** Sends `amount` test USDC from an anvil account to `to` (a buyer with little money). */
export async function giveUsdc(from: LocalAccount, to: Address, amount: bigint, rpcUrl: string) {
  const wallet = createWalletClient({ account: from, chain: getChain(), transport: http(rpcUrl) });
  const hash = await wallet.writeContract({
    address: getKnownContracts().usdc,
    abi: testUSDCAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await getPublicClient().waitForTransactionReceipt({ hash });
}
