import { decodeFunctionData, erc20Abi, isAddressEqual, type Address, type Hex, type TransactionSerializable } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { paidMintTokenAbi } from '../chain/contracts.generated';
import { MINT_SELECTOR } from '../chain/mint-signature';

// Every agent-wallet signature passes through here. Allowed, and nothing else:
//  - USDC.approve(task token, amount <= what the task still needs)
//  - task token.mint(to = the wallet's own user, …)
//  - USDC.transfer(the wallet's own user, amount) and a plain ETH send to the user (refunds)
// The check runs on the exact bytes that will be signed, so no caller can word its way around it.

export type AgentPolicy = {
  agent: Address;
  user: Address;
  usdc: Address;
  /** The task being run, if any: its token and the USDC its remaining mints still need. */
  task?: { token: Address; remainingCost: bigint };
};

export class GuardError extends Error {
  constructor(message: string) {
    super(`transaction refused: ${message}`);
    this.name = 'GuardError';
  }
}

type Tx = { to?: Address | null; data?: Hex; value?: bigint };

const MINT_CALL_LENGTH = 2 + 8 + 5 * 64;

export function checkAgentTransaction(policy: AgentPolicy, tx: Tx): void {
  const to = tx.to;
  if (!to) throw new GuardError('contract creation is not allowed');
  const value = tx.value ?? 0n;
  const data = tx.data && tx.data !== '0x' ? tx.data : undefined;

  if (!data) {
    if (isAddressEqual(to, policy.user) && value > 0n) return;
    throw new GuardError(`plain transfers may only go to the wallet's user`);
  }
  if (value !== 0n) throw new GuardError('contract calls may not carry ETH');

  if (isAddressEqual(to, policy.usdc)) {
    const call = decode(erc20Abi, data);
    if (call.functionName === 'approve') {
      const [spender, amount] = call.args as [Address, bigint];
      if (!policy.task || !isAddressEqual(spender, policy.task.token)) throw new GuardError('approve is only for the task token');
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
    // The hot path, once per mint: mint(address,bytes32,uint8,bytes32,bytes32) has a fixed
    // size, so its selector and recipient word are checked in place, without an ABI decode.
    if (data.length === MINT_CALL_LENGTH && data.startsWith(MINT_SELECTOR) && data.slice(10, 34) === '0'.repeat(24)) {
      if (!isAddressEqual(`0x${data.slice(34, 74)}`, policy.user)) throw new GuardError('minted tokens must go to the user');
      return;
    }
    const call = decode(paidMintTokenAbi, data);
    if (call.functionName !== 'mint') throw new GuardError(`token.${call.functionName} is not allowed`);
    const [recipient] = call.args as [Address, Hex, number, Hex, Hex];
    if (!isAddressEqual(recipient, policy.user)) throw new GuardError('minted tokens must go to the user');
    return;
  }

  throw new GuardError(`calls to ${to} are not allowed`);
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
      checkAgentTransaction(policy, { to: tx.to ?? undefined, data: tx.data, value: tx.value });
      return account.signTransaction(tx);
    },
  };
}

export type GuardedSigner = ReturnType<typeof createGuardedSigner>;
