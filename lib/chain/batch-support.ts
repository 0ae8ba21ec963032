import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import type { Address, PublicClient } from 'viem';
import { getConfig } from '../config';
import { getKnownContracts, getPublicClient } from './clients';
import { BATCH_MODE, delegationCode } from './batch-calls';
import { agentBatchExecutorAbi } from './contracts.generated';

export type MintExecution = {
  configured: 'auto' | 'batch' | 'single';
  /** What the worker does: one EIP-7702 transaction per batch, or one transaction per mint. */
  effective: 'batch' | 'single';
  batchExecutor?: Address;
  reason: string;
};

/**
 * Whether this chain runs EIP-7702 delegations to our executor: an eth_call to a throwaway
 * address whose code is overridden with the delegation designator (0xef0100 ‖ executor). A
 * chain before Prague treats 0xef… as invalid code and the call fails; one with EIP-7702
 * follows the designator and answers `supportsExecutionMode(try) = true`. Read-only, no gas.
 */
export async function detectBatchSupport(
  client: PublicClient,
  executor: Address | undefined,
): Promise<{ supported: boolean; reason: string }> {
  if (!executor)
    return {
      supported: false,
      reason: 'no batch executor deployed (npm run deploy:executor, or BATCH_EXECUTOR_ADDRESS)',
    };
  const code = await client.getCode({ address: executor });
  if (!code || code === '0x') return { supported: false, reason: `no code at the batch executor ${executor}` };
  const probe = privateKeyToAccount(generatePrivateKey()).address;
  try {
    const supported = await client.readContract({
      address: probe,
      abi: agentBatchExecutorAbi,
      functionName: 'supportsExecutionMode',
      args: [BATCH_MODE.try],
      stateOverride: [{ address: probe, code: delegationCode(executor) }],
    });
    return supported
      ? { supported: true, reason: 'the chain follows EIP-7702 delegations (type-4 transactions)' }
      : { supported: false, reason: 'the executor refused the try mode' };
  } catch {
    return { supported: false, reason: 'the chain does not follow EIP-7702 delegations (no type-4 transactions)' };
  }
}

const resolved = new Map<string, Promise<MintExecution>>();

/** MINT_EXECUTION resolved once per process (auto: detected; batch: required; single: as asked). */
export function resolveMintExecution(): Promise<MintExecution> {
  const configured = getConfig().worker.execution;
  let result = resolved.get(configured);
  if (result) return result;
  result = (async () => {
    if (configured === 'single') return { configured, effective: 'single' as const, reason: 'MINT_EXECUTION=single' };
    const { batchExecutor } = getKnownContracts();
    const { supported, reason } = await detectBatchSupport(getPublicClient(), batchExecutor);
    if (configured === 'batch' && !supported) throw new Error(`MINT_EXECUTION=batch, but ${reason}`);
    return {
      configured,
      effective: supported ? ('batch' as const) : ('single' as const),
      batchExecutor: supported ? batchExecutor : undefined,
      reason,
    };
  })();
  resolved.set(configured, result);
  result.catch(() => resolved.delete(configured)); // a node that was down at start is asked again
  return result;
}
