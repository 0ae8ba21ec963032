import {
  decodeFunctionData,
  erc20Abi,
  isAddressEqual,
  type Address,
  type AuthorizationRequest,
  type Hex,
  type SignedAuthorizationList,
  type TransactionSerializable,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { BATCH_MODE, decodeBatchExecute } from '../chain/batch-calls';
import { paidMintTokenAbi } from '../chain/contracts.generated';
import { MAX_BATCH_OVERHEAD_GAS, MAX_MINT_GAS } from '../chain/mint-gas';
import { MINT_SELECTOR } from '../chain/mint-signature';

// Every agent-wallet signature passes through here. Allowed, and nothing else:
//  - USDC.approve(task token, amount <= what the task still needs)
//  - task token.mint(to = the task's recipient if it has one, else the wallet's own user, …)
//  - USDC.transfer(the wallet's own user, amount) and a plain ETH send to the user (refunds)
//  - a plain ETH send to the operator, and only under a sweep's policy (`operator` set): the
//    operator's own gas money going back (lib/wallets/sweep.ts); never inside a batch
//  - a batch: execute(batch mode, calls) sent by the agent to itself (its EIP-7702 delegation to
//    AgentBatchExecutor runs it), every call inside it allowed by the rules above
//  - an empty 0-value send to itself (fills a nonce no recorded transaction will use)
//  - an EIP-7702 authorization only to the configured AgentBatchExecutor, for this chain
// and only as an EIP-1559 (or, carrying that authorization, EIP-7702) transaction on the
// configured chain: no blobs, no other chain id (a signature for another chain, or for chain 0,
// is a gift to whoever replays it there), and no mint with room to burn more than MAX_MINT_GAS.
// The check runs on the exact bytes that will be signed, so no caller can word its way around it.

export type AgentPolicy = {
  agent: Address;
  user: Address;
  usdc: Address;
  /** The chain the app runs on; a transaction or authorization for any other chain is refused. */
  chainId: number;
  /**
   * The task being run, if any: its token, the USDC its remaining mints still need, and where its
   * tokens go when that is not the user (the recipient an x402 sale fixed at creation).
   */
  task?: { token: Address; remainingCost: bigint; recipient?: Address };
  /** The AgentBatchExecutor agents may delegate to (none: no batches, no authorizations). */
  batchExecutor?: Address;
  /** The operator, set only by the sweep (which sets no task and no executor): its ETH may go back to it. */
  operator?: Address;
};

export class GuardError extends Error {
  constructor(message: string) {
    super(`transaction refused: ${message}`);
    this.name = 'GuardError';
  }
}

type Tx = { to?: Address | null; data?: Hex; value?: bigint; gas?: bigint };

/** The fields of a transaction beyond its call that the guard must see before anything is signed. */
type Envelope = Pick<TransactionSerializable, 'type' | 'chainId'> & {
  blobs?: unknown;
  blobVersionedHashes?: unknown;
  sidecars?: unknown;
  maxFeePerBlobGas?: unknown;
};

/** Transaction types an agent may sign (EIP-7702 only with the authorization checks below). */
const ALLOWED_TYPES: ReadonlySet<string | undefined> = new Set(['eip1559', 'eip7702']);

/**
 * Refuses everything about a transaction that is not its call or its authorizations: another
 * chain, blob fields, a legacy/EIP-2930/blob type. A handful of property reads: it runs once per mint.
 */
export function checkTransactionEnvelope(policy: AgentPolicy, tx: Envelope): void {
  if (tx.chainId !== policy.chainId)
    throw new GuardError(`chain id ${tx.chainId} is not this app's chain ${policy.chainId}`);
  if (
    tx.blobs !== undefined ||
    tx.blobVersionedHashes !== undefined ||
    tx.sidecars !== undefined ||
    tx.maxFeePerBlobGas !== undefined
  ) {
    throw new GuardError('blob transactions are not allowed');
  }
  if (!ALLOWED_TYPES.has(tx.type)) throw new GuardError(`${tx.type ?? 'untyped'} transactions are not allowed`);
}

function wrongRecipient(policy: AgentPolicy) {
  return new GuardError(`minted tokens must go to the ${policy.task?.recipient ? "task's recipient" : 'user'}`);
}

// The agent's gas is the operator's ETH: a mint may not be signed with room to burn more.
function checkMintGas(gas: bigint | undefined) {
  if (gas !== undefined && gas > MAX_MINT_GAS)
    throw new GuardError(`a mint may use at most ${MAX_MINT_GAS} gas, not ${gas}`);
}

const MINT_CALL_LENGTH = 2 + 8 + 5 * 64;
const ADDRESS_WORD_PADDING = '0'.repeat(24);

export function checkAgentTransaction(policy: AgentPolicy, tx: Tx): void {
  const to = tx.to;
  if (!to) throw new GuardError('contract creation is not allowed');
  const value = tx.value ?? 0n;
  const data = tx.data && tx.data !== '0x' ? tx.data : undefined;

  if (isAddressEqual(to, policy.agent)) {
    // An empty 0-value send to itself moves nothing: the reconciler's filler for a nonce hole.
    if (!data && value === 0n) return;
    return checkBatch(policy, data, value, tx.gas);
  }
  if (!data) {
    if (isAddressEqual(to, policy.user) && value > 0n) return;
    if (policy.operator && isAddressEqual(to, policy.operator) && value > 0n) return;
    throw new GuardError(
      `plain transfers may only go to the wallet's user${policy.operator ? ' or the operator' : ''}`,
    );
  }
  if (value !== 0n) throw new GuardError('contract calls may not carry ETH');

  if (isAddressEqual(to, policy.usdc)) {
    const call = decode(erc20Abi, data);
    if (call.functionName === 'approve') {
      const [spender, amount] = call.args as [Address, bigint];
      if (!policy.task || !isAddressEqual(spender, policy.task.token))
        throw new GuardError('approve is only for the task token');
      if (amount > policy.task.remainingCost) {
        throw new GuardError(`approve of ${amount} exceeds the ${policy.task.remainingCost} the task still needs`);
      }
      return;
    }
    if (call.functionName === 'transfer') {
      const [recipient] = call.args as [Address, bigint];
      if (!isAddressEqual(recipient, policy.user)) throw new GuardError(`USDC may only go back to the wallet's user`);
      return;
    }
    throw new GuardError(`USDC.${call.functionName} is not allowed`);
  }

  if (policy.task && isAddressEqual(to, policy.task.token)) {
    const mintTo = policy.task.recipient ?? policy.user;
    // The hot path, once per mint: mint(address,bytes32,uint8,bytes32,bytes32) has a fixed
    // size, so its selector and recipient word are checked in place, without an ABI decode.
    if (
      data.length === MINT_CALL_LENGTH &&
      data.startsWith(MINT_SELECTOR) &&
      data.startsWith(ADDRESS_WORD_PADDING, 10)
    ) {
      if (!isAddressEqual(`0x${data.slice(34, 74)}`, mintTo)) throw wrongRecipient(policy);
      return checkMintGas(tx.gas);
    }
    const call = decode(paidMintTokenAbi, data);
    if (call.functionName !== 'mint') throw new GuardError(`token.${call.functionName} is not allowed`);
    const [recipient] = call.args as [Address, Hex, number, Hex, Hex];
    if (!isAddressEqual(recipient, mintTo)) throw wrongRecipient(policy);
    return checkMintGas(tx.gas);
  }

  throw new GuardError(`calls to ${to} are not allowed`);
}

/** A call to the agent itself runs its delegated code: only AgentBatchExecutor.execute over allowed calls. */
function checkBatch(policy: AgentPolicy, data: Hex | undefined, value: bigint, gas: bigint | undefined) {
  if (!policy.batchExecutor || policy.operator) throw new GuardError('batches are not enabled for this wallet');
  if (!data || value !== 0n) throw new GuardError('a call to the agent itself must be a batch without ETH');
  let batch;
  try {
    batch = decodeBatchExecute(data);
  } catch {
    throw new GuardError('unrecognised call to the agent itself');
  }
  if (batch.mode !== BATCH_MODE.try && batch.mode !== BATCH_MODE.revertAll)
    throw new GuardError(`batch mode ${batch.mode} is not allowed`);
  if (batch.calls.length === 0) throw new GuardError('empty batch');
  // As for a single mint: the operator pays this gas, so no batch gets room to burn more.
  const cap = MAX_BATCH_OVERHEAD_GAS + MAX_MINT_GAS * BigInt(batch.calls.length);
  if (gas !== undefined && gas > cap)
    throw new GuardError(`a batch of ${batch.calls.length} calls may use at most ${cap} gas, not ${gas}`);
  for (const [i, call] of batch.calls.entries()) {
    try {
      // A call inside the batch may not target the agent again (no nesting): it falls through to the allowlist's end.
      if (isAddressEqual(call.to, policy.agent)) throw new GuardError('a batch may not call the agent itself');
      checkAgentTransaction(policy, { to: call.to, data: call.data, value: call.value });
    } catch (error) {
      if (error instanceof GuardError)
        throw new GuardError(`batch call ${i}: ${error.message.replace(/^transaction refused: /, '')}`);
      throw error;
    }
  }
}

/** EIP-7702: the only delegation an agent may sign is to our executor. */
export function checkAuthorization(
  policy: AgentPolicy,
  authorization: { address?: Address; contractAddress?: Address; chainId?: number },
) {
  // Chain id 0 would make the delegation valid on every chain.
  if (authorization.chainId !== policy.chainId)
    throw new GuardError(`an authorization for chain ${authorization.chainId} is not allowed (only ${policy.chainId})`);
  const target = authorization.address ?? authorization.contractAddress;
  // A sweep's signer delegates nothing.
  if (policy.operator || !policy.batchExecutor || !target || !isAddressEqual(target, policy.batchExecutor)) {
    throw new GuardError(`delegation to ${target ?? 'nothing'} is not allowed (only to the batch executor)`);
  }
}

function checkAuthorizationList(policy: AgentPolicy, list: SignedAuthorizationList | undefined) {
  for (const authorization of list ?? []) checkAuthorization(policy, authorization);
}

function decode<const A extends readonly unknown[]>(abi: A, data: Hex) {
  try {
    return decodeFunctionData({ abi: abi as never, data }) as { functionName: string; args: readonly unknown[] };
  } catch {
    throw new GuardError('unrecognised call data');
  }
}

/** Signs only what the policy allows; the account itself never leaves this closure. */
export function createGuardedSigner(account: PrivateKeyAccount, policy: AgentPolicy) {
  if (!isAddressEqual(account.address, policy.agent)) throw new GuardError('signer is not the policy agent');
  return {
    address: account.address,
    signTransaction(tx: TransactionSerializable): Promise<Hex> {
      checkTransactionEnvelope(policy, tx);
      if ('authorizationList' in tx && tx.authorizationList) {
        // A delegation rides only on a batch the agent sends to itself.
        if (!tx.to || !isAddressEqual(tx.to, policy.agent))
          throw new GuardError('an authorization list is only allowed on a batch to the agent itself');
        checkAuthorizationList(policy, tx.authorizationList);
      }
      checkAgentTransaction(policy, { to: tx.to ?? undefined, data: tx.data, value: tx.value, gas: tx.gas });
      return account.signTransaction(tx);
    },
    signAuthorization(request: AuthorizationRequest) {
      checkAuthorization(policy, request);
      return account.signAuthorization(request);
    },
  };
}

export type GuardedSigner = ReturnType<typeof createGuardedSigner>;
