import {
  decodeFunctionData,
  erc20Abi,
  isAddressEqual,
  type Address,
  type Hex,
  type TransactionSerializable,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { X402Terms } from '@/db/schema';
import { listX402DestinationsByAgent } from '@/db/x402-deliveries';
import { getConfig } from '../config';
import { GuardError } from './tx-guard';

// What an agent wallet may sign for an x402 task, and nothing else:
//  - an EIP-3009 TransferWithAuthorization of exactly the task's asset, to its payee, for its
//    probed price × the mints the payment buys (1, or up to the terms' mintsPerPayment, never
//    more), valid no longer than `maxLifetimeSeconds` (the endpoint's timeout capped by
//    X402_MAX_AUTHORIZATION_SECONDS, plus a few seconds of signing time), while the task's
//    payments (live and settled) stay within its funding;
//  - a CancelAuthorization of one of its own open payments;
//  - the transfer of the task's token, received from the endpoint, to the task's recipient, else
//    the user (forwarding), or to the destination of another of the wallet's tasks of that token
//    (an ended task's late tokens, forwarded while the next one runs; the signer reads these from
//    the database, never from its caller), never to anyone else, and never of the payment asset:
//    a task that "buys" USDC would forward the agent's own USDC.

export type X402Policy = {
  agent: Address;
  user: Address;
  token: Address;
  /** Where the task's tokens go when it is not the user (an x402 sale's recipient): the one address a forward may name. */
  recipient?: Address;
  terms: X402Terms;
  funding: bigint;
  /** Longest validity (seconds from now) a payment may have; by default the seller's timeout capped by X402_MAX_AUTHORIZATION_SECONDS. */
  maxLifetimeSeconds?: number;
};

const lifetimeOf = (policy: X402Policy) =>
  policy.maxLifetimeSeconds ?? authorizationLifetime(policy.terms, getConfig().x402.maxAuthorizationSeconds);

export type PaymentAuthorization = {
  from: string;
  to: string;
  value: string;
  validAfter: string;
  validBefore: string;
  nonce: string;
};

// The x402 client stamps validBefore from the same clock a moment before this check runs.
const SIGNING_SLACK_SECONDS = 5n;

/** The seller's maxTimeoutSeconds capped by `capSeconds`: how long an authorization of the task may live. */
export function authorizationLifetime(terms: X402Terms, capSeconds: number): number {
  return Math.min(terms.requirement.maxTimeoutSeconds, terms.authorizationSeconds ?? capSeconds, capSeconds);
}

/**
 * Most mints one payment of the task may buy: its terms' mintsPerPayment where the request can
 * say how many (a POST body with the quantity field the probe learnt); 1 otherwise, and for
 * tasks probed before it.
 */
export function maxMintsPerPayment(terms: X402Terms): number {
  const m = terms.mintsPerPayment;
  const body = terms.body;
  const sayable = terms.method === 'POST' && typeof body === 'object' && body !== null && !!m?.field && m.field in body;
  return sayable ? Math.max(1, m!.max) : 1;
}

/** The token a task buys may not be what the agent pays with (USDC itself, or the endpoint's asset). */
export function isPaymentAsset(token: string, assets: readonly string[]): boolean {
  return assets.some((a) => a.toLowerCase() === token.toLowerCase());
}

/**
 * Checks one signed payment before it is written to the ledger (and so before it is sent). With
 * `units` (the mints the ledger row says it buys) its value must be exactly units × the probed
 * price; without (the signing hook, which sees only the typed data) a whole number of mints
 * within the terms. Either way, never more than mintsPerPayment × the price.
 */
export function checkX402Payment(
  policy: X402Policy,
  payment: { asset: string; authorization: PaymentAuthorization; units?: number },
  spent: { live: bigint },
) {
  const { terms } = policy;
  const { authorization } = payment;
  if (!isAddressEqual(payment.asset as Address, terms.requirement.asset as Address))
    throw new GuardError(`x402 payment in ${payment.asset}, the task pays in ${terms.requirement.asset}`);
  if (!isAddressEqual(authorization.from as Address, policy.agent))
    throw new GuardError('x402 payment not from the agent');
  if (!isAddressEqual(authorization.to as Address, terms.requirement.payTo as Address))
    throw new GuardError(`x402 payment to ${authorization.to}, the endpoint's payee is ${terms.requirement.payTo}`);
  const price = BigInt(terms.requirement.amount);
  const value = BigInt(authorization.value);
  const max = maxMintsPerPayment(terms);
  const units = payment.units ?? (price > 0n && value % price === 0n ? Number(value / price) : 0);
  if (!Number.isInteger(units) || units < 1 || units > max)
    throw new GuardError(`x402 payment for ${units} mint(s), the task buys 1 to ${max} per payment`);
  if (value !== price * BigInt(units))
    throw new GuardError(`x402 payment of ${value}, the probed price of ${units} mint(s) is ${price * BigInt(units)}`);
  const now = BigInt(Math.floor(Date.now() / 1000));
  const lifetime = lifetimeOf(policy);
  if (BigInt(authorization.validBefore) > now + BigInt(lifetime) + SIGNING_SLACK_SECONDS)
    throw new GuardError(`x402 payment valid for longer than ${lifetime} s`);
  if (spent.live + BigInt(authorization.value) > policy.funding)
    throw new GuardError(`x402 payments would exceed the task's funding of ${policy.funding}`);
}

/**
 * The one transaction forwarding needs: token.transfer(to, amount) on the task's token, `to` being
 * the task's recipient, else the user, or one of `otherDestinations` (where the wallet's other
 * tasks of this token send their tokens, lower-case).
 */
export function checkTokenForward(
  policy: X402Policy,
  tx: { to?: Address | null; data?: Hex; value?: bigint },
  amount: bigint,
  otherDestinations: readonly string[] = [],
) {
  if (policy.terms.mintsToUser) throw new GuardError('this endpoint mints to the user; there is nothing to forward');
  if (!tx.to || !isAddressEqual(tx.to, policy.token)) throw new GuardError('only the task token may be forwarded');
  if (isPaymentAsset(policy.token, [policy.terms.requirement.asset]))
    throw new GuardError('the payment asset is never forwarded as the task token');
  if ((tx.value ?? 0n) !== 0n || !tx.data) throw new GuardError('a token forward carries no ETH');
  let call;
  try {
    call = decodeFunctionData({ abi: erc20Abi, data: tx.data });
  } catch {
    throw new GuardError('unrecognised call data');
  }
  if (call.functionName !== 'transfer') throw new GuardError(`token.${call.functionName} is not allowed`);
  const [to, value] = call.args as [Address, bigint];
  if (!isAddressEqual(to, destinationOfPolicy(policy)) && !otherDestinations.includes(to.toLowerCase()))
    throw new GuardError(
      `forwarded tokens must go to the ${policy.recipient ? "task's recipient" : 'user'} or where another of the wallet's tasks of this token sends its tokens`,
    );
  if (value !== amount) throw new GuardError('forward amount differs from what was received');
}

/** Where a task's tokens end up: its recipient (an x402 sale's), else the user. */
export const destinationOfPolicy = (policy: X402Policy): Address => policy.recipient ?? policy.user;

/** Where a forward sends the token, when `data` is a transfer call (undefined otherwise: the check refuses it). */
function forwardTarget(data: Hex | undefined): Address | undefined {
  try {
    const call = decodeFunctionData({ abi: erc20Abi, data: data ?? '0x' });
    return call.functionName === 'transfer' ? (call.args[0] as Address) : undefined;
  } catch {
    return undefined;
  }
}

const cancelTypes = {
  CancelAuthorization: [
    { name: 'authorizer', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/**
 * Where the wallet's tasks of `token` that can still be counted for send their tokens: running, or
 * ended within twice the window counting keeps an ended task for (X402_DELIVERY_TIMEOUT_MS), so a
 * task the turn's plan named just before it left that window is still allowed when its forward is
 * signed a few receipts later.
 */
const destinationsOfRecentTasks = (q: { agent: string; token: string }) =>
  listX402DestinationsByAgent({ ...q, endedWithinSeconds: 2 * Math.ceil(getConfig().x402.deliveryTimeoutMs / 1000) });

/**
 * Signs through the policy only: payments are signed by the x402 client after checkX402Payment's
 * terms are its spend limits. `destinationsOfWallet` reads where the wallet's tasks of a token send
 * their tokens (the database; a pure test gives its own).
 */
export function createX402Signer(
  account: PrivateKeyAccount,
  policy: X402Policy,
  destinationsOfWallet: (q: { agent: string; token: string }) => Promise<string[]> = destinationsOfRecentTasks,
) {
  if (!isAddressEqual(account.address, policy.agent)) throw new GuardError('signer is not the policy agent');
  return {
    address: account.address,
    /**
     * The account the official x402 client signs payments with: it signs only a
     * TransferWithAuthorization on the task's asset within the task's terms (the funding
     * check, which needs the ledger, follows in checkX402Payment and in the ledger write).
     */
    paymentAccount: {
      address: account.address,
      publicKey: account.publicKey,
      type: 'local',
      source: 'x402-guard',
      signTypedData(params: {
        domain?: { verifyingContract?: string };
        primaryType: string;
        message: Record<string, unknown>;
      }) {
        if (params.primaryType !== 'TransferWithAuthorization')
          throw new GuardError(`x402 client asked to sign ${params.primaryType}`);
        const { message } = params;
        const asset = params.domain?.verifyingContract ?? '';
        checkX402Payment(
          policy,
          {
            asset,
            authorization: {
              from: String(message.from),
              to: String(message.to),
              value: String(message.value),
              validAfter: String(message.validAfter),
              validBefore: String(message.validBefore),
              nonce: String(message.nonce),
            },
          },
          { live: 0n },
        );
        return account.signTypedData(params as never);
      },
    } as unknown as PrivateKeyAccount,
    async signForward(tx: TransactionSerializable, amount: bigint): Promise<Hex> {
      const target = forwardTarget(tx.data);
      const others =
        target && !isAddressEqual(target, destinationOfPolicy(policy))
          ? await destinationsOfWallet({ agent: policy.agent, token: policy.token })
          : [];
      checkTokenForward(policy, { to: tx.to, data: tx.data, value: tx.value }, amount, others);
      return account.signTransaction(tx);
    },
    signCancel(openNonce: Hex, domain: { chainId: number; verifyingContract: Address }) {
      return account.signTypedData({
        domain: {
          name: policy.terms.domain.name,
          version: policy.terms.domain.version,
          chainId: domain.chainId,
          verifyingContract: domain.verifyingContract,
        },
        types: cancelTypes,
        primaryType: 'CancelAuthorization',
        message: { authorizer: policy.agent, nonce: openNonce },
      });
    },
  };
}
