import { getAddress, isAddress, isAddressEqual, type Address } from 'viem';
import type { AgentWallet, Task, X402Terms } from '@/db/schema';
import { getTaskById, insertTask, type DbExecutor, type TaskWithAgent } from '@/db/tasks';
import { getChain, getKnownContracts, getMintSignerAccounts, getPublicClient } from '../chain/clients';
import { readPaidMintToken, type PaidMintTokenInfo } from '../chain/tokens';
import { AppError } from '../errors';
import { isKnownToken } from '../tokens/known-tokens';
import { getOrCreateAgentWallet } from '../wallets/agent-wallets';
import { checkMinTaskValue } from './task-value';

export const MIN_QUANTITY = 1;
export const MAX_QUANTITY = 1000;

/**
 * Runs the insert of a task that passed every check, knowing its total cost and the agent wallet
 * it will use: an assistant key reserves the cost against its daily cap here
 * (lib/assistant-keys/spend-cap.ts); an x402 sale checks its payment against the wallet and
 * inserts the task and its sale in one transaction (`insert(tx)`, lib/x402-seller/). The chat,
 * acting for the signed-in user, inserts unguarded.
 */
export type TaskInsertGuard = <T extends Task>(
  totalCost: bigint,
  insert: (db?: DbExecutor) => Promise<T>,
  context: { wallet: AgentWallet },
) => Promise<T>;
export const unguardedInsert: TaskInsertGuard = (_totalCost, insert) => insert();

export function checkQuantity(quantity: number) {
  if (!Number.isInteger(quantity) || quantity < MIN_QUANTITY || quantity > MAX_QUANTITY) {
    throw refuse(`Quantity must be a whole number from ${MIN_QUANTITY} to ${MAX_QUANTITY}.`);
  }
}

const refuse = (message: string, details?: Record<string, unknown>) =>
  new AppError('bad_request:task', message, { details });

/**
 * Checks everything about the token before anything is stored: on chain a contract with the
 * paid-mint interface, then one AgentMint knows (deployed by it or listed by the operator, see
 * lib/tokens/known-tokens.ts), paid in our USDC, enough supply left, a total of at least
 * MIN_TASK_VALUE_USDC, and a mint signer whose key this install holds (otherwise the worker
 * could never produce a mint signature).
 */
export async function validateMintToken(tokenAddress: string, quantity: number): Promise<PaidMintTokenInfo> {
  checkQuantity(quantity);
  if (!isAddress(tokenAddress, { strict: false }))
    throw refuse('The token address must be 0x followed by 40 hex characters.');
  const address = getAddress(tokenAddress);

  const code = await getPublicClient().getCode({ address });
  if (!code || code === '0x') throw refuse(`There is no contract at ${address} on this chain.`);

  let info: PaidMintTokenInfo;
  try {
    info = await readPaidMintToken(address);
  } catch (cause) {
    throw new AppError(
      'bad_request:task',
      `The contract at ${address} is not a paid-mint token (it lacks pricePerMint, mintSigner and the other mint views).`,
      {
        cause,
      },
    );
  }
  // Reading a stranger's views costs nothing; minting it could cost the operator's gas.
  if (!(await isKnownToken(address))) {
    throw refuse(
      `AgentMint does not know the token at ${address}: it mints only tokens deployed with AgentMint (npm run deploy:token) or listed by its operator.`,
    );
  }

  const usdc = getKnownContracts().usdc;
  if (info.paymentToken.toLowerCase() !== usdc.toLowerCase()) {
    throw refuse(
      `This token is paid in ${info.paymentToken}, not in the USDC this service uses (${getAddress(usdc)}).`,
    );
  }
  checkMinTaskValue({ pricePerMint: info.pricePerMint, quantity });
  const remaining = info.maxMintCount > info.mintCount ? info.maxMintCount - info.mintCount : 0n;
  if (remaining < BigInt(quantity)) {
    throw refuse(`Only ${remaining} mints are left on this token; ask for ${remaining} or fewer.`, {
      remaining: remaining.toString(),
    });
  }
  const signers = getMintSignerAccounts().map((a) => a.address.toLowerCase());
  if (!signers.includes(info.mintSigner.toLowerCase())) {
    throw refuse(
      `AgentMint cannot mint this token: its mint signer ${info.mintSigner} is not a key this service holds.`,
    );
  }
  return info;
}

/**
 * Creates a pending_payment task for the user once the token passed every on-chain check. Its
 * tokens go to the user, or to `recipient`: only an x402 sale names one (the payer buys the task
 * for it), and it is fixed for the task's life.
 */
export async function createMintTask({
  userAddress,
  tokenAddress,
  quantity,
  recipient,
  guard = unguardedInsert,
}: {
  userAddress: Address | string;
  tokenAddress: string;
  quantity: number;
  recipient?: Address;
  guard?: TaskInsertGuard;
}): Promise<TaskWithAgent & { token: PaidMintTokenInfo }> {
  const info = await validateMintToken(tokenAddress, quantity);
  const task = await insertCheckedTask(
    { userAddress, recipient, tokenAddress: info.address, quantity, pricePerMint: info.pricePerMint },
    guard,
  );
  return { ...task, token: info };
}

/**
 * Writes a task that passed every check of its route: the user's agent wallet (made on first
 * use), the insert through `guard`, the task read back with its agent. `recipient` is kept only
 * when the tokens go elsewhere than the user.
 */
export async function insertCheckedTask(
  {
    userAddress,
    recipient,
    tokenAddress,
    quantity,
    pricePerMint,
    chainId = getChain().id,
    x402,
  }: {
    userAddress: Address | string;
    recipient?: Address;
    tokenAddress: string;
    quantity: number;
    pricePerMint: bigint;
    chainId?: number;
    /** An x402 task's terms (route 'x402'); a contract task has none. */
    x402?: X402Terms;
  },
  guard: TaskInsertGuard,
): Promise<TaskWithAgent> {
  const wallet = await getOrCreateAgentWallet(userAddress);
  const totalCost = pricePerMint * BigInt(quantity);
  const inserted = await guard(
    totalCost,
    (db) =>
      insertTask(
        {
          userAddress: userAddress.toLowerCase(),
          recipient: recipient && !isAddressEqual(recipient, userAddress as Address) ? recipient.toLowerCase() : null,
          agentWalletId: wallet.id,
          chainId,
          tokenAddress: tokenAddress.toLowerCase(),
          ...(x402 && { route: 'x402' as const, x402 }),
          quantity,
          pricePerMint: pricePerMint.toString(),
          totalCost: totalCost.toString(),
        },
        db,
      ),
    { wallet },
  );
  const task = await getTaskById({ id: inserted.id });
  if (!task) throw new Error(`task ${inserted.id} vanished right after insert`);
  return task;
}
